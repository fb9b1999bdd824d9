package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Upsert stores a by id. A redelivery (same id and content hash) returns
// Unchanged and writes nothing; a new content hash replaces the stored
// version, topics included. Upsert sets a.StoredAt to the time the stored
// version was written.
func (s *Store) Upsert(ctx context.Context, a *Article) (Outcome, error) {
	if err := validate(a); err != nil {
		return 0, err
	}
	keywords, err := json.Marshal(nonNil(a.Keywords))
	if err != nil {
		return 0, fmt.Errorf("upsert article %s: encode keywords: %w: %w", a.ID, ErrPermanent, err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, classify("upsert article "+a.ID, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit

	var hash string
	var storedAt int64
	outcome := Updated
	err = tx.QueryRowContext(ctx, `SELECT content_hash, stored_at FROM articles WHERE id = ?`, a.ID).Scan(&hash, &storedAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		outcome = Inserted
	case err != nil:
		return 0, classify("upsert article "+a.ID, err)
	case hash == a.ContentHash:
		a.StoredAt = fromMicros(storedAt)
		return Unchanged, nil
	}

	now := fromMicros(s.now().UnixMicro()) // what reads will return
	args := []any{
		a.URL, a.CanonicalURL, a.Feed, a.Source, a.ContentHash,
		a.Title, a.Byline, strings.ToLower(a.Language), a.Text,
		publishedMicros(a), a.FetchedAt.UnixMicro(), now.UnixMicro(), a.sortTime().UnixMicro(),
		string(keywords), a.ID,
	}
	if outcome == Inserted {
		_, err = tx.ExecContext(ctx, `INSERT INTO articles (
			url, canonical_url, feed, source, content_hash,
			title, byline, language, body,
			published_at, fetched_at, stored_at, sort_at,
			keywords, id
		) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE articles SET
			url = ?, canonical_url = ?, feed = ?, source = ?, content_hash = ?,
			title = ?, byline = ?, language = ?, body = ?,
			published_at = ?, fetched_at = ?, stored_at = ?, sort_at = ?,
			keywords = ?
		WHERE id = ?`, args...)
		if err == nil {
			_, err = tx.ExecContext(ctx, `DELETE FROM article_topics WHERE article_id = ?`, a.ID)
		}
	}
	if err != nil {
		return 0, classify("upsert article "+a.ID, err)
	}
	for _, t := range a.Topics {
		if _, err := tx.ExecContext(ctx, `INSERT INTO article_topics (article_id, code, label, label_key, score, level)
			VALUES (?, ?, ?, ?, ?, ?)`, a.ID, t.Code, t.Label, strings.ToLower(t.Label), t.Score, t.Level); err != nil {
			return 0, classify("upsert article "+a.ID+": topic "+t.Code, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, classify("upsert article "+a.ID+": commit", err)
	}
	a.StoredAt = now
	return outcome, nil
}

func validate(a *Article) error {
	var problems []string
	if a.ID == "" {
		problems = append(problems, "empty id")
	}
	if a.ContentHash == "" {
		problems = append(problems, "empty content hash")
	}
	seen := make(map[string]bool, len(a.Topics))
	for _, t := range a.Topics {
		switch {
		case t.Code == "":
			problems = append(problems, "topic with empty code")
		case seen[t.Code]:
			problems = append(problems, "topic "+t.Code+" listed twice")
		}
		seen[t.Code] = true
	}
	if len(problems) > 0 {
		return fmt.Errorf("upsert article %q: %s: %w: %w", a.ID, strings.Join(problems, ", "), ErrInvalidArticle, ErrPermanent)
	}
	return nil
}

func publishedMicros(a *Article) any {
	if a.Published == nil {
		return nil
	}
	return a.Published.UnixMicro()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
