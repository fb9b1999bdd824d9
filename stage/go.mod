module github.com/newsflow/newsflow/stage

go 1.26
