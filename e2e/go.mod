module github.com/newsflow/newsflow/e2e

go 1.26.0

require (
	github.com/newsflow/newsflow/cmd/newsflow v0.0.0-00010101000000-000000000000
	github.com/newsflow/newsflow/proto v0.0.0-00010101000000-000000000000
	github.com/newsflow/newsflow/stage v0.0.0-00010101000000-000000000000
)

require (
	github.com/antithesishq/antithesis-sdk-go v0.8.0-default-no-op // indirect
	github.com/google/go-tpm v0.9.8 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/minio/highwayhash v1.0.4 // indirect
	github.com/nats-io/jwt/v2 v2.8.2 // indirect
	github.com/nats-io/nats-server/v2 v2.15.2 // indirect
	github.com/nats-io/nats.go v1.55.0 // indirect
	github.com/nats-io/nkeys v0.4.16 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/time v0.16.0 // indirect
)

replace (
	github.com/newsflow/newsflow/cmd/newsflow => ../cmd/newsflow
	github.com/newsflow/newsflow/proto => ../proto
	github.com/newsflow/newsflow/services/fetcher => ../services/fetcher
	github.com/newsflow/newsflow/services/normalizer => ../services/normalizer
	github.com/newsflow/newsflow/services/sink => ../services/sink
	github.com/newsflow/newsflow/services/tagger => ../services/tagger
	github.com/newsflow/newsflow/stage => ../stage
)

tool github.com/nats-io/nats-server/v2
