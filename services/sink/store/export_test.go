package store

import "context"

// SetEachBatch lets tests cross Each's batch boundaries with few articles.
func SetEachBatch(s *Store, n int) { s.eachBatch = n }

// CommonTopic tells which plan List uses for a topic filter.
func CommonTopic(s *Store, topic string, limit int) (bool, error) {
	code, label := topicKeys(topic)
	return s.commonTopic(context.Background(), code, label, limit)
}
