module github.com/newsflow/newsflow/e2e

go 1.26
