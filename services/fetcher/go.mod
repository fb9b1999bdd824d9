module github.com/newsflow/newsflow/services/fetcher

go 1.26

require github.com/newsflow/newsflow/proto v0.0.0-00010101000000-000000000000

replace github.com/newsflow/newsflow/proto => ../../proto
