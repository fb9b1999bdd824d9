module github.com/newsflow/newsflow/proto

go 1.26

require google.golang.org/protobuf v1.36.12

require (
	github.com/google/uuid v1.6.0
	github.com/stretchr/testify v1.12.1
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
