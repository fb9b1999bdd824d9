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
	"time"
)

// Result is what UpsertBatch did with one article: its outcome, or the
// error that kept it out (an invalid article; the others are still written).
type Result struct {
	Outcome Outcome
	Err     error
}

// Upsert stores a by id. A redelivery of what is stored (same id, same
// record) returns Unchanged and writes nothing; anything else replaces the
// stored version, topics included, unless the stored version was fetched
// later (Stale: an old version arriving late never overwrites a newer one).
// The record compared is everything stored, not only the page's content
// hash, so a replay through a newer normalizer or tagger updates the row.
// Every content hash an article had is kept in its version history.
// Upsert sets a.StoredAt to the time the stored version was written.
func (s *Store) Upsert(ctx context.Context, a *Article) (Outcome, error) {
	res, err := s.UpsertBatch(ctx, []*Article{a})
	if err != nil {
		return 0, err
	}
	return res[0].Outcome, res[0].Err
}

// UpsertBatch upserts arts, in order, in one transaction: what Upsert does
// for each, with one commit. An invalid article gets its own error in its
// Result and the others are written; err is a failure of the whole batch,
// after which nothing of it is stored.
func (s *Store) UpsertBatch(ctx context.Context, arts []*Article) ([]Result, error) {
	res := make([]Result, len(arts))
	valid := 0
	for i, a := range arts {
		if res[i].Err = validate(a); res[i].Err == nil {
			valid++
		}
	}
	if valid == 0 {
		return res, nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, classify("upsert articles: begin", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit

	now := fromMicros(s.now().UnixMicro()) // what reads will return
	for i, a := range arts {
		if res[i].Err != nil {
			continue
		}
		if res[i].Outcome, err = s.upsert(ctx, tx, a, now); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, classify("upsert articles: commit", err)
	}
	for i, a := range arts {
		if o := res[i].Outcome; o == Inserted || o == Updated {
			a.StoredAt = now
		}
	}
	return res, nil
}

// upsert writes one valid article inside tx. StoredAt is set for what it
// does not write; the caller sets it for the rest once committed.
func (s *Store) upsert(ctx context.Context, tx *sql.Tx, a *Article, now time.Time) (Outcome, error) {
	op := "upsert article " + a.ID
	keywords, err := json.Marshal(nonNil(a.Keywords))
	if err != nil {
		return 0, fmt.Errorf("%s: encode keywords: %w: %w", op, ErrPermanent, err)
	}
	record := recordHash(a)
	var storedRecord string
	var fetchedAt, storedAt int64
	outcome := Updated
	lock := ""
	if s.pg {
		lock = " FOR UPDATE" // a concurrent replica writing the same id waits
	}
	err = tx.QueryRowContext(ctx, s.bind(`SELECT record_hash, fetched_at, stored_at FROM articles WHERE id = ?`+lock), a.ID).
		Scan(&storedRecord, &fetchedAt, &storedAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		outcome = Inserted
	case err != nil:
		return 0, classify(op, err)
	case storedRecord == record:
		a.StoredAt = fromMicros(storedAt)
		return Unchanged, nil
	case fetchedAt > a.FetchedAt.UnixMicro():
		a.StoredAt = fromMicros(storedAt)
		return Stale, nil
	}

	args := []any{
		a.URL, a.CanonicalURL, a.Feed, a.Source, a.ContentHash,
		a.Title, a.Byline, strings.ToLower(a.Language), a.Text,
		publishedMicros(a), a.FetchedAt.UnixMicro(), now.UnixMicro(), a.sortTime().UnixMicro(),
		string(keywords), record, a.ID,
	}
	exec := func(what, q string, args ...any) error {
		if _, err := tx.ExecContext(ctx, s.bind(q), args...); err != nil {
			return classify(op+what, err)
		}
		return nil
	}
	if outcome == Inserted {
		err = exec("", `INSERT INTO articles (
			url, canonical_url, feed, source, content_hash,
			title, byline, language, body,
			published_at, fetched_at, stored_at, sort_at,
			keywords, record_hash, id
		) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	} else {
		err = exec("", `UPDATE articles SET
			url = ?, canonical_url = ?, feed = ?, source = ?, content_hash = ?,
			title = ?, byline = ?, language = ?, body = ?,
			published_at = ?, fetched_at = ?, stored_at = ?, sort_at = ?,
			keywords = ?, record_hash = ?
		WHERE id = ?`, args...)
		for _, table := range []string{"article_topics", "article_entities", "article_stories"} {
			if err == nil {
				err = exec(": clear "+table, `DELETE FROM `+table+` WHERE article_id = ?`, a.ID)
			}
		}
	}
	if err != nil {
		return 0, err
	}
	if err := exec(": version", `INSERT INTO article_versions (article_id, content_hash, title, body, fetched_at, stored_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (article_id, content_hash) DO UPDATE SET
			title = excluded.title, body = excluded.body, fetched_at = excluded.fetched_at, stored_at = excluded.stored_at`,
		a.ID, a.ContentHash, a.Title, a.Text, a.FetchedAt.UnixMicro(), now.UnixMicro()); err != nil {
		return 0, err
	}
	topics := make([][]any, len(a.Topics))
	for i, t := range a.Topics {
		topics[i] = []any{a.ID, t.Code, t.Label, strings.ToLower(t.Label), t.Score, t.Level}
	}
	if err := s.insertRows(ctx, tx, op+": topics", "article_topics (article_id, code, label, label_key, score, level)", topics); err != nil {
		return 0, err
	}
	entities := make([][]any, len(a.Entities))
	for i, e := range a.Entities {
		aliases, err := json.Marshal(nonNil(e.Aliases))
		if err != nil {
			return 0, fmt.Errorf("%s: encode aliases: %w: %w", op, ErrPermanent, err)
		}
		entities[i] = []any{a.ID, e.Name, entityKey(e.Name), e.Type, e.Subtype, e.Mentions, string(aliases)}
	}
	if err := s.insertRows(ctx, tx, op+": entities", "article_entities (article_id, name, name_key, type, subtype, mentions, aliases)", entities); err != nil {
		return 0, err
	}
	if st := a.Story; st != nil && *st != (Story{}) {
		if err := exec(": story", `INSERT INTO article_stories (article_id, story_id, duplicate_of, derived_from, overlap)
			VALUES (?, ?, ?, ?, ?)`, a.ID, st.ID, st.DuplicateOf, st.DerivedFrom, st.Overlap); err != nil {
			return 0, err
		}
	}
	return outcome, nil
}

// insertRows inserts rows into table (its name and column list) with one
// statement, saving a round trip per row.
func (s *Store) insertRows(ctx context.Context, tx *sql.Tx, op, table string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	one := "(?" + strings.Repeat(", ?", len(rows[0])-1) + ")"
	args := make([]any, 0, len(rows)*len(rows[0]))
	for _, r := range rows {
		args = append(args, r...)
	}
	q := "INSERT INTO " + table + " VALUES " + one + strings.Repeat(", "+one, len(rows)-1)
	if _, err := tx.ExecContext(ctx, s.bind(q), args...); err != nil {
		return classify(op, err)
	}
	return nil
}

// entityKey is the form entity names are matched by: case-insensitive.
func entityKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

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
	field("entities")
	for _, e := range a.Entities {
		field(fmt.Sprintf("%s|%s|%s|%d", e.Name, e.Type, e.Subtype, e.Mentions))
		for _, al := range e.Aliases {
			field(al)
		}
	}
	if st := a.Story; st != nil {
		field(fmt.Sprintf("story|%s|%s|%s|%g", st.ID, st.DuplicateOf, st.DerivedFrom, st.Overlap))
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
	names := make(map[string]bool, len(a.Entities))
	for _, e := range a.Entities {
		k := entityKey(e.Name) + "\x00" + e.Type
		switch {
		case entityKey(e.Name) == "":
			problems = append(problems, "entity with empty name")
		case names[k]:
			problems = append(problems, "entity "+e.Name+" ("+e.Type+") listed twice")
		}
		names[k] = true
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
