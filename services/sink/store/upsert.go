package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Upsert stores a by id. A redelivery of what is stored (same id, same
// record) returns Unchanged and writes nothing; anything else replaces the
// stored version, topics included, unless the stored version was fetched
// later (Stale: an old version arriving late never overwrites a newer one).
// The record compared is everything stored, not only the page's content
// hash, so a replay through a newer normalizer or tagger updates the row.
// Upsert sets a.StoredAt to the time the stored version was written.
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

	record := recordHash(a)
	var storedRecord string
	var fetchedAt, storedAt int64
	outcome := Updated
	err = tx.QueryRowContext(ctx, `SELECT record_hash, fetched_at, stored_at FROM articles WHERE id = ?`, a.ID).
		Scan(&storedRecord, &fetchedAt, &storedAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		outcome = Inserted
	case err != nil:
		return 0, classify("upsert article "+a.ID, err)
	case storedRecord == record:
		a.StoredAt = fromMicros(storedAt)
		return Unchanged, nil
	case fetchedAt > a.FetchedAt.UnixMicro():
		a.StoredAt = fromMicros(storedAt)
		return Stale, nil
	}

	now := fromMicros(s.now().UnixMicro()) // what reads will return
	args := []any{
		a.URL, a.CanonicalURL, a.Feed, a.Source, a.ContentHash,
		a.Title, a.Byline, strings.ToLower(a.Language), a.Text,
		publishedMicros(a), a.FetchedAt.UnixMicro(), now.UnixMicro(), a.sortTime().UnixMicro(),
		string(keywords), record, a.ID,
	}
	if outcome == Inserted {
		_, err = tx.ExecContext(ctx, `INSERT INTO articles (
			url, canonical_url, feed, source, content_hash,
			title, byline, language, body,
			published_at, fetched_at, stored_at, sort_at,
			keywords, record_hash, id
		) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE articles SET
			url = ?, canonical_url = ?, feed = ?, source = ?, content_hash = ?,
			title = ?, byline = ?, language = ?, body = ?,
			published_at = ?, fetched_at = ?, stored_at = ?, sort_at = ?,
			keywords = ?, record_hash = ?
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

// recordHash digests everything Upsert stores for a, StoredAt aside.
func recordHash(a *Article) string {
	h := sha256.New()
	field := func(s string) {
		// Length-prefixed, so no two different records share a digest.
		fmt.Fprintf(h, "%d:%s", len(s), s)
	}
	for _, s := range []string{a.URL, a.CanonicalURL, a.Feed, a.Source, a.ContentHash,
		a.Title, a.Byline, strings.ToLower(a.Language), a.Text} {
		field(s)
	}
	field(fmt.Sprint(publishedMicros(a), a.FetchedAt.UnixMicro()))
	for _, k := range a.Keywords {
		field(k)
	}
	field("topics")
	for _, t := range a.Topics {
		field(fmt.Sprintf("%s|%s|%g|%d", t.Code, t.Label, t.Score, t.Level))
	}
	return hex.EncodeToString(h.Sum(nil))
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
