module github.com/newsflow/newsflow/services/normalizer

go 1.26
