package store

// SetEachBatch lets tests cross Each's batch boundaries with few articles.
func SetEachBatch(s *Store, n int) { s.eachBatch = n }
