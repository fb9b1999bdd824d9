module github.com/newsflow/newsflow/services/fetcher

go 1.26.0

require (
	github.com/mmcdole/gofeed v1.4.2
	github.com/stretchr/testify v1.12.1
	golang.org/x/net v0.62.0
	golang.org/x/text v0.43.0
)

require (
	github.com/mmcdole/goxpp/v2 v2.0.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)

replace github.com/newsflow/newsflow/proto => ../../proto
replace github.com/newsflow/newsflow/stage => ../../stage
