package store

import (
	"context"
	"fmt"
	"strings"
)

// SetWALRestart sets how many frames in the write-ahead log make the
// writer start it over; set it before the first write.
func SetWALRestart(s *Store, frames int64) { s.ckpt.restartAt = frames }

// SetEachBatch lets tests cross Each's batch boundaries with few articles.
func SetEachBatch(s *Store, n int) { s.eachBatch = n }

// CommonTopic tells which plan List uses for a topic filter.
func CommonTopic(s *Store, topic string, limit int) (bool, error) {
	code, label := topicKeys(topic)
	return s.common(context.Background(), `SELECT 1 FROM article_topics WHERE code = ? OR label_key = ?`, []any{code, label}, limit)
}

// CommonEntity tells which plan List uses for an entity filter.
func CommonEntity(s *Store, entity string, limit int) (bool, error) {
	return s.common(context.Background(), `SELECT 1 FROM article_entities WHERE name_key = ?`, []any{entityKey(entity)}, limit)
}

// ExplainList returns the query plan of the statement List runs for q,
// with sequential scans disabled on PostgreSQL: on a test-sized table its
// planner rightly prefers them, while the question here is whether an index
// can serve the query at all.
func ExplainList(s *Store, q Query) (string, error) {
	ctx := context.Background()
	p, err := s.listQuery(ctx, q)
	if err != nil {
		return "", err
	}
	return s.explain(p)
}

// ExplainStories returns the plan of the statement Stories runs for q.
func ExplainStories(s *Store, q StoryQuery) (string, error) {
	p, err := s.storiesQuery(context.Background(), q)
	if err != nil {
		return "", err
	}
	return s.explain(p)
}

func (s *Store) explain(p listPlan) (string, error) {
	ctx := context.Background()
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback() //nolint:errcheck
	explain := "EXPLAIN QUERY PLAN "
	if s.pg {
		explain = "EXPLAIN "
		if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
			return "", err
		}
	}
	rows, err := tx.QueryContext(ctx, explain+p.sql, p.args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var plan strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		plan.WriteString(fmt.Sprint(vals[len(vals)-1]) + "\n")
	}
	return plan.String(), rows.Err()
}

// Analyze refreshes PostgreSQL's planner statistics, as autovacuum does a
// minute or so after a bulk load; SQLite is left as the sink runs it.
func Analyze(s *Store) error {
	if !s.pg {
		return nil
	}
	_, err := s.w.ExecContext(context.Background(), `ANALYZE`)
	return err
}

// Exec runs a statement on the store's writer, as an operator's SQL would.
func Exec(s *Store, query string, args ...any) error {
	_, err := s.w.ExecContext(context.Background(), s.bind(query), args...)
	return err
}

// Unindex removes an article's text from the search index, leaving its
// row: a later write finds it in search again only if it indexes the text.
func Unindex(s *Store, id string) error {
	q := `INSERT INTO articles_fts (articles_fts, rowid, title, body) SELECT 'delete', seq, title, body FROM articles WHERE id = ?`
	if s.pg {
		q = `UPDATE articles SET tsv = '' WHERE id = ?`
	}
	_, err := s.w.ExecContext(context.Background(), s.bind(q), id)
	return err
}

// Prepared is how many statements the SQLite writer keeps prepared.
func Prepared(s *Store) int {
	s.prepared.mu.Lock()
	defer s.prepared.mu.Unlock()
	return len(s.prepared.stmts)
}

// PreparedMax bounds Prepared.
const PreparedMax = preparedMax

// FTSSegments is how many segments SQLite's full-text index has, after
// turning its automatic merges off (so that every segment a write makes
// stays to be counted).
func FTSSegments(s *Store) (int, error) {
	ctx := context.Background()
	if _, err := s.w.ExecContext(ctx, `INSERT INTO articles_fts (articles_fts, rank) VALUES ('automerge', 0)`); err != nil {
		return 0, err
	}
	var n int
	err := s.w.QueryRowContext(ctx, `SELECT count(DISTINCT segid) FROM articles_fts_idx`).Scan(&n)
	return n, err
}

// FTSIntegrity checks SQLite's full-text index against itself and against
// the articles' texts.
func FTSIntegrity(s *Store) error {
	_, err := s.w.ExecContext(context.Background(), `INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 1)`)
	return err
}

// WriterPragma reads a pragma's value on the store's writer connection.
func WriterPragma(s *Store, name string) (string, error) {
	var v string
	err := s.w.QueryRowContext(context.Background(), `PRAGMA `+name).Scan(&v)
	return v, err
}

// VersionTexts returns the text each version of article id keeps in its
// history, by content hash ("" for the current one: its text is the
// article's).
func VersionTexts(s *Store, id string) (map[string]string, error) {
	rows, err := s.r.QueryContext(context.Background(), s.bind(`SELECT content_hash, body FROM article_versions WHERE article_id = ?`), id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var hash, body string
		if err := rows.Scan(&hash, &body); err != nil {
			return nil, err
		}
		out[hash] = body
	}
	return out, rows.Err()
}
