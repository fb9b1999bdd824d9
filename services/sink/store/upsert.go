package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
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
// Every content hash an article had is kept in its version history, with
// the text of each version an update replaced (the current text is the
// article row's).
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
//
// The batch reads the stored state of all its articles with one statement
// (on PostgreSQL locking their rows), decides each article's outcome, and
// then runs the writes: one by one on SQLite, which runs in the process, and
// pipelined in one round trip on PostgreSQL (writeBatchPg).
func (s *Store) UpsertBatch(ctx context.Context, arts []*Article) ([]Result, error) {
	res := make([]Result, len(arts))
	var ids []string
	for i, a := range arts {
		if res[i].Err = validate(a); res[i].Err == nil {
			ids = append(ids, a.ID)
		}
	}
	if len(ids) == 0 {
		return res, nil
	}
	now := fromMicros(time.Now().UnixMicro()) // what reads will return
	plan := func(states map[string]*storedState) ([]stmt, error) {
		var all []stmt
		links := linkChanges{} // what the batch does to the stories
		for i, a := range arts {
			if res[i].Err != nil {
				continue
			}
			var before storedState
			if st := states[a.ID]; st != nil {
				before = *st
			}
			o, stmts, err := s.planUpsert(a, states, now)
			if err != nil {
				return nil, err
			}
			res[i].Outcome = o
			all = append(all, stmts...)
			if o == Inserted || o == Updated {
				// An update removes the article's link and adds it anew.
				links.remove(before.story, before.sortAt)
				links.add(a.storyID(), a.sortTime().UnixMicro())
			}
		}
		all = append(all, s.recordStamps(arts, res, now)...)
		if s.pg && len(links) > 0 {
			// SQLite's triggers keep the summaries; on PostgreSQL, where a
			// trigger a row cost a quarter of the write rate, one call a
			// batch applies its changes, and the trigger that catches a
			// time changed in place stands aside for the batch (it would
			// count links of the batch that the call counts again).
			all = append([]stmt{{op: "upsert articles: story summaries", sql: `SELECT set_config('newsflow.summaries_by_batch', 'on', true)`}}, all...)
			all = append(all, links.apply(s))
		}
		return all, nil
	}
	var err error
	if s.pg {
		err = s.writeBatchPg(ctx, ids, plan)
	} else if err = s.checkFile(); err == nil {
		err = s.writeBatchSQLite(ctx, ids, plan)
		if err == nil {
			// Committed, but to the file at the path? If it went away
			// meanwhile the batch is in no file: not stored.
			err = s.checkFile()
		}
	}
	if err != nil {
		return nil, err
	}
	for i, a := range arts {
		if o := res[i].Outcome; o == Inserted || o == Updated {
			a.StoredAt = now
			for _, k := range stampsOf(a) {
				s.stamps.Store(k, true)
			}
		}
	}
	return res, nil
}

// storedState is what the batch needs to know of a stored article.
type storedState struct {
	record              string
	fetchedAt, storedAt int64
	sortAt              int64  // the time its story summary counts
	story               string // the story it is linked to ("" none)
}

// linkChanges sums what a write batch does to each story's links, for its
// summary: links added less removed, and the span of the times added and of
// those removed.
type linkChanges map[string]*linkChange

type linkChange struct {
	delta               int32
	first, last         int64 // of the times added
	goneFirst, goneLast int64 // of the times removed
}

func (c linkChanges) get(story string) *linkChange {
	ch := c[story]
	if ch == nil {
		ch = &linkChange{first: math.MaxInt64, last: math.MinInt64, goneFirst: math.MaxInt64, goneLast: math.MinInt64}
		c[story] = ch
	}
	return ch
}

func (c linkChanges) add(story string, at int64) {
	if story == "" {
		return
	}
	ch := c.get(story)
	ch.delta++
	ch.first, ch.last = min(ch.first, at), max(ch.last, at)
}

func (c linkChanges) remove(story string, at int64) {
	if story == "" {
		return
	}
	ch := c.get(story)
	ch.delta--
	ch.goneFirst, ch.goneLast = min(ch.goneFirst, at), max(ch.goneLast, at)
}

// apply is the statement that applies the changes on PostgreSQL
// (story_summaries_apply, migration 0005), stories in order.
func (c linkChanges) apply(s *Store) stmt {
	ids := slices.Sorted(maps.Keys(c))
	deltas := make([]int32, len(ids))
	firsts, lasts := make([]int64, len(ids)), make([]int64, len(ids))
	goneFirsts, goneLasts := make([]int64, len(ids)), make([]int64, len(ids))
	for i, id := range ids {
		ch := c[id]
		deltas[i], firsts[i], lasts[i], goneFirsts[i], goneLasts[i] = ch.delta, ch.first, ch.last, ch.goneFirst, ch.goneLast
	}
	return stmt{op: "upsert articles: story summaries", sql: s.bind(`SELECT story_summaries_apply(?, ?, ?, ?, ?, ?)`),
		args: []any{ids, deltas, firsts, lasts, goneFirsts, goneLasts}}
}

// stmt is one write of an upsert, with what it writes for error messages.
type stmt struct {
	op   string
	sql  string // with '?' placeholders
	args []any
	// row marks the write of an articles row or of its text to the
	// full-text index, which SQLite runs before the rest of its batch
	// (writeBatchSQLite).
	row bool
}

// stateQuery reads the stored state of articles by id.
const stateQuery = `SELECT id, record_hash, fetched_at, stored_at, sort_at,
	COALESCE((SELECT story_id FROM article_stories st WHERE st.article_id = articles.id), '')
	FROM articles WHERE id `

// writeBatchSQLite runs a batch in one transaction on SQLite, which holds
// the database's only write lock from BEGIN (IMMEDIATE) on, with the
// writer's prepared statements (preparedSet).
func (s *Store) writeBatchSQLite(ctx context.Context, ids []string, plan func(map[string]*storedState) ([]stmt, error)) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return classify("upsert articles: begin", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	ptx := &txPrepared{tx: tx, set: &s.prepared}
	states := make(map[string]*storedState, len(ids))
	const chunk = 500 // well under SQLite's limit on bound parameters
	for i := 0; i < len(ids); i += chunk {
		part := ids[i:min(i+chunk, len(ids))]
		args := make([]any, len(part))
		for j, id := range part {
			args[j] = id
		}
		rows, err := ptx.query(ctx, stateQuery+`IN (?`+strings.Repeat(", ?", len(part)-1)+`)`, args...)
		if err != nil {
			return classify("upsert articles: read stored state", err)
		}
		if err := scanStates(rows, states); err != nil {
			return classify("upsert articles: read stored state", err)
		}
	}
	stmts, err := plan(states)
	if err != nil {
		return err
	}
	// The articles rows and their texts first, then the rest, each part
	// in its order. FTS5 writes what it was given to disk as a new
	// segment at every savepoint, and every statement that may fail
	// half-way (an upsert, a trigger, a row with a foreign key) opens
	// one: interleaved with the rest, the index took a segment (and,
	// later, merges) per article; this way it takes one a batch. The
	// rest needs the rows (foreign keys; the summaries' triggers read
	// sort_at), and a later copy of an article in the batch is written
	// after the earlier one either way.
	slices.SortStableFunc(stmts, func(a, b stmt) int {
		switch {
		case a.row == b.row:
			return 0
		case a.row:
			return -1
		}
		return 1
	})
	for _, st := range stmts {
		if err := ptx.exec(ctx, st.sql, st.args...); err != nil {
			return classify(st.op, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return classify("upsert articles: commit", err)
	}
	s.ckpt.committed(ctx, s.w)
	s.prepared.prepare(ctx, s.w, ptx.missed)
	return nil
}

// scanStates reads stateQuery's rows into states.
func scanStates(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}, states map[string]*storedState) error {
	defer rows.Close()
	for rows.Next() {
		var id string
		var st storedState
		if err := rows.Scan(&id, &st.record, &st.fetchedAt, &st.storedAt, &st.sortAt, &st.story); err != nil {
			return err
		}
		states[id] = &st
	}
	return rows.Err()
}

// planUpsert decides what to do with a valid article given what is stored
// of the batch's articles (states, by id; none: nothing), and returns the
// statements that do it. What it writes goes into states, so that a later
// copy of the same article in the batch sees it. StoredAt is set for what it
// does not write; the caller sets it for the rest once committed.
func (s *Store) planUpsert(a *Article, states map[string]*storedState, now time.Time) (Outcome, []stmt, error) {
	op := "upsert article " + a.ID
	record := recordHash(a)
	outcome := Inserted
	if prev := states[a.ID]; prev != nil {
		switch {
		case prev.record == record:
			a.StoredAt = fromMicros(prev.storedAt)
			return Unchanged, nil, nil
		case prev.fetchedAt > a.FetchedAt.UnixMicro():
			a.StoredAt = fromMicros(prev.storedAt)
			return Stale, nil, nil
		}
		outcome = Updated
	}
	keywords, err := json.Marshal(nonNil(a.Keywords))
	if err != nil {
		return 0, nil, fmt.Errorf("%s: encode keywords: %w: %w", op, ErrPermanent, err)
	}
	args := []any{
		a.URL, a.CanonicalURL, a.Feed, a.Source, a.ContentHash,
		a.Title, a.Byline, strings.ToLower(a.Language), a.Text,
		publishedMicros(a), a.FetchedAt.UnixMicro(), now.UnixMicro(), a.sortTime().UnixMicro(),
		string(keywords), record, a.MadeBy.Normalizer, a.MadeBy.Tagger, a.ID,
	}
	var out []stmt
	add := func(what, q string, args ...any) {
		out = append(out, stmt{op: op + what, sql: s.bind(q), args: args})
	}
	if outcome == Updated {
		// The version stored so far keeps its text in the history if the
		// update replaces it with another content hash: the current
		// version's text is the articles row's alone (the version
		// statement below leaves it out): a copy in every version row
		// made a SQLite store 43% larger per article
		// (BenchmarkWriteSmallBatches). Run before the row is updated,
		// and with the rows:
		// an earlier copy of the article in the batch may not have
		// written its version yet, which this then creates.
		add(": keep superseded text", `INSERT INTO article_versions (article_id, content_hash, title, body, fetched_at, stored_at)
			SELECT id, content_hash, title, body, fetched_at, stored_at FROM articles WHERE id = ? AND content_hash <> ?
			ON CONFLICT (article_id, content_hash) DO UPDATE SET body = excluded.body`, a.ID, a.ContentHash)
		out[0].row = true
	}
	if outcome == Inserted {
		add("", `INSERT INTO articles (
			url, canonical_url, feed, source, content_hash,
			title, byline, language, body,
			published_at, fetched_at, stored_at, sort_at,
			keywords, record_hash, normalizer_version, tagger_version, id
		) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	} else {
		add("", `UPDATE articles SET
			url = ?, canonical_url = ?, feed = ?, source = ?, content_hash = ?,
			title = ?, byline = ?, language = ?, body = ?,
			published_at = ?, fetched_at = ?, stored_at = ?, sort_at = ?,
			keywords = ?, record_hash = ?, normalizer_version = ?, tagger_version = ?
		WHERE id = ?`, args...)
	}
	out[len(out)-1].row = true
	if outcome == Inserted && !s.pg {
		// SQLite's full-text index gets a new row's text here, not from
		// a trigger (migration 0010; why in writeBatchSQLite). One row by
		// VALUES: an INSERT ... SELECT may write several, so it opens a
		// savepoint itself. An update's new text still goes in by
		// trigger (0009), which runs only if the text changed.
		add(": index text", `INSERT INTO articles_fts (rowid, title, body) VALUES ((SELECT seq FROM articles WHERE id = ?), ?, ?)`, a.ID, a.Title, a.Text)
		out[len(out)-1].row = true
	}
	if outcome == Updated {
		for _, table := range []string{"article_topics", "article_entities", "article_stories"} {
			add(": clear "+table, `DELETE FROM `+table+` WHERE article_id = ?`, a.ID)
		}
	}
	// The version, without its text while it is the current one (see
	// "keep superseded text"); a version that comes back keeps the text
	// it was superseded with.
	add(": version", `INSERT INTO article_versions (article_id, content_hash, title, body, fetched_at, stored_at)
		VALUES (?, ?, ?, '', ?, ?)
		ON CONFLICT (article_id, content_hash) DO UPDATE SET
			title = excluded.title, fetched_at = excluded.fetched_at
		WHERE article_versions.fetched_at <> excluded.fetched_at OR article_versions.title <> excluded.title`,
		a.ID, a.ContentHash, a.Title, a.FetchedAt.UnixMicro(), now.UnixMicro())
	topics := make([][]any, len(a.Topics))
	for i, t := range a.Topics {
		topics[i] = []any{a.ID, t.Code, t.Label, strings.ToLower(t.Label), t.Score, t.Level}
	}
	if q, args := insertRows("article_topics (article_id, code, label, label_key, score, level)", topics); q != "" {
		add(": topics", q, args...)
	}
	entities := make([][]any, len(a.Entities))
	for i, e := range a.Entities {
		aliases, err := json.Marshal(nonNil(e.Aliases))
		if err != nil {
			return 0, nil, fmt.Errorf("%s: encode aliases: %w: %w", op, ErrPermanent, err)
		}
		entities[i] = []any{a.ID, e.Name, entityKey(e.Name), e.Type, e.Subtype, e.Mentions, string(aliases)}
	}
	if q, args := insertRows("article_entities (article_id, name, name_key, type, subtype, mentions, aliases)", entities); q != "" {
		add(": entities", q, args...)
	}
	if st := a.Story; st != nil && *st != (Story{}) {
		add(": story", `INSERT INTO article_stories (article_id, story_id, duplicate_of, derived_from, overlap)
			VALUES (?, ?, ?, ?, ?)`, a.ID, st.ID, st.DuplicateOf, st.DerivedFrom, st.Overlap)
	}
	states[a.ID] = &storedState{record: record, fetchedAt: a.FetchedAt.UnixMicro(), storedAt: now.UnixMicro(), sortAt: a.sortTime().UnixMicro(), story: a.storyID()}
	return outcome, out, nil
}

// insertRows returns one statement that inserts rows into table (its name
// and column list), saving a round trip per row, or "" for no rows.
func insertRows(table string, rows [][]any) (string, []any) {
	if len(rows) == 0 {
		return "", nil
	}
	one := "(?" + strings.Repeat(", ?", len(rows[0])-1) + ")"
	args := make([]any, 0, len(rows)*len(rows[0]))
	for _, r := range rows {
		args = append(args, r...)
	}
	return "INSERT INTO " + table + " VALUES " + one + strings.Repeat(", "+one, len(rows)-1), args
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
	if a.MadeBy != (MadeBy{}) {
		// Only when known, so what was stored before stamps were kept
		// keeps its digest.
		field("made by|" + a.MadeBy.Normalizer + "|" + a.MadeBy.Tagger)
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
