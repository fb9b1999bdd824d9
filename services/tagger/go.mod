module github.com/newsflow/newsflow/services/tagger

go 1.26
