module github.com/newsflow/newsflow/services/fetcher

go 1.26
