module github.com/newsflow/newsflow/cmd/newsflow

go 1.26.0

require (
	github.com/newsflow/newsflow/proto v0.0.0-00010101000000-000000000000
	github.com/newsflow/newsflow/services/fetcher v0.0.0-00010101000000-000000000000
	github.com/newsflow/newsflow/services/normalizer v0.0.0-00010101000000-000000000000
	github.com/newsflow/newsflow/services/sink v0.0.0-00010101000000-000000000000
	github.com/newsflow/newsflow/services/tagger v0.0.0-00010101000000-000000000000
	github.com/newsflow/newsflow/stage v0.0.0-00010101000000-000000000000
)

replace (
	github.com/newsflow/newsflow/proto => ../../proto
	github.com/newsflow/newsflow/services/fetcher => ../../services/fetcher
	github.com/newsflow/newsflow/services/normalizer => ../../services/normalizer
	github.com/newsflow/newsflow/services/sink => ../../services/sink
	github.com/newsflow/newsflow/services/tagger => ../../services/tagger
	github.com/newsflow/newsflow/stage => ../../stage
)
