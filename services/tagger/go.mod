module github.com/newsflow/newsflow/services/tagger

go 1.26

require (
	github.com/newsflow/newsflow/proto v0.0.0-00010101000000-000000000000
	github.com/newsflow/newsflow/stage v0.0.0-00010101000000-000000000000
)

require (
	github.com/abadojack/whatlanggo v1.0.1 // indirect
	github.com/stretchr/testify v1.11.1 // indirect
)

replace github.com/newsflow/newsflow/proto => ../../proto
replace github.com/newsflow/newsflow/stage => ../../stage
