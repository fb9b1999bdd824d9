package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Query selects a page of articles for List. Zero fields do not filter.
type Query struct {
	// Q is full-text search over title and text: words are ANDed, a
	// trailing '*' searches a prefix, anything else is literal. When set,
	// results come by relevance, best first, unless ByPublished.
	Q string
	// ByPublished orders search results newest first, as listings are.
	ByPublished bool
	// Topic is an IPTC code ("medtop:11000000" or "11000000") or an exact
	// label, case-insensitive.
	Topic string
	// Entity is an entity's name, case-insensitive.
	Entity string
	// Source is a site's host name, exactly as stored.
	Source   string
	Language string
	// Since (inclusive) and Until (exclusive) bound the publication time, or
	// the fetch time of articles whose publication time is unknown.
	Since, Until time.Time
	// Limit defaults to DefaultLimit and is capped at MaxLimit.
	Limit int
	// Cursor is a Page.NextCursor from the same query.
	Cursor string
}

// Page is one page of List results.
type Page struct {
	Articles []Article
	// NextCursor is empty on the last page.
	NextCursor string
}

const (
	DefaultLimit = 20
	MaxLimit     = 1000
)

// Title matches weigh more than body matches.
const rankExpr = `bm25(articles_fts, 5.0, 1.0)`

const articleColumns = `a.id, a.url, a.canonical_url, a.feed, a.source, a.content_hash,
	a.title, a.byline, a.language, a.body,
	a.published_at, a.fetched_at, a.stored_at, a.sort_at, a.keywords,
	a.normalizer_version, a.tagger_version`

// Get returns the article with id, or an error matching ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (*Article, error) {
	rows, err := s.r.QueryContext(ctx, s.bind(`SELECT `+articleColumns+` FROM articles a WHERE a.id = ?`), id)
	if err != nil {
		return nil, classify("get article "+id, err)
	}
	got, err := s.collect(ctx, rows, nil)
	if err != nil {
		return nil, fmt.Errorf("get article %s: %w", id, err)
	}
	if len(got) == 0 {
		return nil, fmt.Errorf("get article %s: %w", id, ErrNotFound)
	}
	a := &got[0].Article
	if a.Versions, err = s.versions(ctx, id); err != nil {
		return nil, err
	}
	return a, nil
}

func (s *Store) versions(ctx context.Context, id string) ([]Version, error) {
	rows, err := s.r.QueryContext(ctx, s.bind(`SELECT content_hash, title, fetched_at, stored_at
		FROM article_versions WHERE article_id = ? ORDER BY fetched_at, stored_at, content_hash`), id)
	if err != nil {
		return nil, classify("get article "+id+": versions", err)
	}
	defer rows.Close()
	var out []Version
	for rows.Next() {
		var v Version
		var fetched, stored int64
		if err := rows.Scan(&v.ContentHash, &v.Title, &fetched, &stored); err != nil {
			return nil, classify("get article "+id+": versions", err)
		}
		v.FetchedAt, v.StoredAt = fromMicros(fetched), fromMicros(stored)
		out = append(out, v)
	}
	return out, classify("get article "+id+": versions", rows.Err())
}

// List returns the page of articles that q selects: newest first (by
// publication time, then id), or by relevance when q.Q is set. Pages are
// keyset-paginated, so inserts while a client pages through a time-ordered
// listing neither repeat nor skip older articles. Relevance scores shift as
// the corpus grows, so a relevance cursor is only as stable as the index.
func (s *Store) List(ctx context.Context, q Query) (Page, error) {
	p, err := s.listQuery(ctx, q)
	if err != nil || p.none {
		return Page{}, err
	}
	mode, terms, limit := p.mode, p.terms, p.limit

	var ranks []float64
	rows, err := s.r.QueryContext(ctx, p.sql, p.args...)
	if err != nil {
		return Page{}, classify("list articles", err)
	}
	got, err := s.collect(ctx, rows, &ranks)
	if err != nil {
		return Page{}, fmt.Errorf("list articles: %w", err)
	}
	var page Page
	if len(got) > limit {
		got = got[:limit]
		last := got[limit-1]
		page.NextCursor = cursor{Mode: mode, At: last.sortAt, Rank: ranks[limit-1], ID: last.ID}.encode()
	}
	page.Articles = make([]Article, len(got))
	for i := range got {
		got[i].Snippet = snippet(got[i].Text, terms)
		page.Articles[i] = got[i].Article
	}
	return page, nil
}

// pageSize is the page size a query's Limit asks for: DefaultLimit when
// unset, at most MaxLimit.
func pageSize(limit int) int {
	if limit <= 0 {
		return DefaultLimit
	}
	return min(limit, MaxLimit)
}

// listPlan is the statement List runs for a query.
type listPlan struct {
	sql   string
	args  []any
	mode  string
	terms []string // search terms, for snippets
	limit int
	none  bool // nothing can match: no statement to run
}

// listQuery builds the statement List runs for q.
func (s *Store) listQuery(ctx context.Context, q Query) (listPlan, error) {
	limit := pageSize(q.Limit)

	mode := modeTime
	var words []searchWord
	var terms []string
	search := strings.TrimSpace(q.Q) != ""
	if search {
		words, terms = searchWords(q.Q)
		if !q.ByPublished {
			mode = modeRank
		}
	}
	var after *cursor
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor, mode)
		if err != nil {
			return listPlan{}, fmt.Errorf("list articles: %w", err)
		}
		after = &c
	}
	if search && len(words) == 0 {
		return listPlan{none: true}, nil // only punctuation: nothing can match
	}

	var b strings.Builder
	var where []string
	var args []any
	rank := rankExpr
	var rankArgs []any // the arguments of rank's placeholders
	switch {
	case search && s.pg:
		tsq, err := s.pgTSQuery(ctx, words, q.Language)
		if err != nil {
			return listPlan{}, err
		}
		if tsq == "" {
			return listPlan{none: true}, nil // only stop words
		}
		if mode == modeRank {
			// ts_rank grows with relevance; its negation sorts like bm25.
			rank, rankArgs = `(-ts_rank(a.tsv, ?::tsquery)::float8)`, []any{tsq}
			args = append(args, tsq)
		} else {
			rank = `0`
		}
		b.WriteString(`SELECT ` + articleColumns + `, ` + rank + ` AS rank FROM articles a`)
		where = append(where, `a.tsv @@ ?::tsquery`)
		args = append(args, tsq)
	case search && mode == modeRank:
		expr, _ := matchExpr(q.Q)
		b.WriteString(`SELECT ` + articleColumns + `, ` + rankExpr + ` AS rank
			FROM articles_fts JOIN articles a ON a.seq = articles_fts.rowid`)
		where = append(where, `articles_fts MATCH ?`)
		args = append(args, expr)
	case search:
		expr, _ := matchExpr(q.Q)
		b.WriteString(`SELECT ` + articleColumns + `, 0 AS rank FROM articles a`)
		where = append(where, `a.seq IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)`)
		args = append(args, expr)
	default:
		b.WriteString(`SELECT ` + articleColumns + `, 0 AS rank FROM articles a`)
	}
	fw, fargs, err := s.filters(ctx, q, mode == modeTime, limit)
	if err != nil {
		return listPlan{}, err
	}
	where, args = append(where, fw...), append(args, fargs...)
	if after != nil {
		if mode == modeRank {
			where = append(where, `(`+rank+`, a.id) > (?, ?)`)
			args = append(append(args, rankArgs...), after.Rank, after.ID)
		} else {
			where = append(where, `(a.sort_at, a.id) < (?, ?)`)
			args = append(args, after.At, after.ID)
		}
	}
	if len(where) > 0 {
		b.WriteString(" WHERE " + strings.Join(where, " AND "))
	}
	if mode == modeRank {
		b.WriteString(` ORDER BY rank, a.id`)
	} else {
		b.WriteString(` ORDER BY a.sort_at DESC, a.id DESC`)
	}
	b.WriteString(` LIMIT ?`)
	args = append(args, limit+1) // one more tells whether a next page exists

	return listPlan{sql: s.bind(b.String()), args: args, mode: mode, terms: terms, limit: limit}, nil
}

// Each calls fn for every article in id order, for export. It reads in
// batches and holds no connection while fn runs, so fn may use the store.
// An error from fn stops the walk and is returned as is.
func (s *Store) Each(ctx context.Context, fn func(*Article) error) error {
	return s.EachMatching(ctx, Query{}, fn)
}

// EachMatching is Each over the articles q's filters select (topic, entity,
// source, language, time range; Q, Limit and Cursor are ignored).
func (s *Store) EachMatching(ctx context.Context, q Query, fn func(*Article) error) error {
	where, args, err := s.filters(ctx, q, false, 0)
	if err != nil {
		return err
	}
	after := ""
	for {
		cond := append([]string{`a.id > ?`}, where...)
		rows, err := s.r.QueryContext(ctx, s.bind(`SELECT `+articleColumns+` FROM articles a
			WHERE `+strings.Join(cond, " AND ")+` ORDER BY a.id LIMIT ?`), append(append([]any{after}, args...), s.eachBatch)...)
		if err != nil {
			return classify("walk articles", err)
		}
		got, err := s.collect(ctx, rows, nil)
		if err != nil {
			return fmt.Errorf("walk articles: %w", err)
		}
		for i := range got {
			if err := fn(&got[i].Article); err != nil {
				return err
			}
		}
		if len(got) < s.eachBatch {
			return nil
		}
		after = got[len(got)-1].ID
	}
}

// filters returns the conditions on articles a (and their arguments) of q's
// filters. byTime says the rows are walked newest first, which lets a
// common topic be probed per article rather than collected (commonTopic).
func (s *Store) filters(ctx context.Context, q Query, byTime bool, limit int) ([]string, []any, error) {
	var where []string
	var args []any
	if q.Language != "" {
		where = append(where, `a.language = ?`)
		args = append(args, strings.ToLower(q.Language))
	}
	if q.Source != "" {
		where = append(where, `a.source = ?`)
		args = append(args, q.Source)
	}
	if !q.Since.IsZero() {
		where = append(where, `a.sort_at >= ?`)
		args = append(args, q.Since.UnixMicro())
	}
	if !q.Until.IsZero() {
		where = append(where, `a.sort_at < ?`)
		args = append(args, q.Until.UnixMicro())
	}
	if q.Topic != "" {
		code, label := topicKeys(q.Topic)
		w, err := s.tagFilter(ctx, byTime, limit, `article_topics`, `code = ? OR label_key = ?`, code, label)
		if err != nil {
			return nil, nil, err
		}
		where, args = append(where, w), append(args, code, label)
	}
	if q.Entity != "" {
		key := entityKey(q.Entity)
		w, err := s.tagFilter(ctx, byTime, limit, `article_entities`, `name_key = ?`, key)
		if err != nil {
			return nil, nil, err
		}
		where, args = append(where, w), append(args, key)
	}
	return where, args, nil
}

// tagFilter returns the condition on articles a that keeps those with a row
// of table (article_topics, article_entities) matching cond (whose
// arguments are args, to be appended by the caller). In a time-ordered walk
// a common tag is probed per article (EXISTS), a rare one collected (IN);
// see common.
func (s *Store) tagFilter(ctx context.Context, byTime bool, limit int, table, cond string, args ...any) (string, error) {
	if byTime {
		common, err := s.common(ctx, `SELECT 1 FROM `+table+` WHERE `+cond, args, limit)
		if err != nil {
			return "", err
		}
		if common {
			return `EXISTS (SELECT 1 FROM ` + table + ` WHERE article_id = a.id AND (` + cond + `))`, nil
		}
	}
	return `a.id IN (SELECT article_id FROM ` + table + ` WHERE ` + cond + `)`, nil
}

// common tells which of two plans serves a time-ordered listing with a
// topic or entity filter faster; SQLite's planner, without statistics,
// always picks the second. Walking articles newest first and probing each
// for the tag (EXISTS) costs about limit*N/M probes for M tagged articles
// out of N; collecting the M tagged ones and sorting them (IN) costs about
// M. So the walk wins when M*M > limit*N. M is counted, by the rows match
// (a SELECT with args) returns, only up to that bound, which keeps the check
// itself cheap.
func (s *Store) common(ctx context.Context, match string, args []any, limit int) (bool, error) {
	var n int64
	if err := s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM articles`).Scan(&n); err != nil {
		return false, classify("list articles: estimate size", err)
	}
	bound := int64(math.Sqrt(float64(limit+1)*float64(n))) + 1
	var m int64
	if err := s.r.QueryRowContext(ctx, s.bind(`SELECT COUNT(*) FROM (`+match+` LIMIT ?) t`), append(slices.Clone(args), bound)...).Scan(&m); err != nil {
		return false, classify("list articles: count tagged", err)
	}
	return m >= bound, nil
}

var topicCode = regexp.MustCompile(`(?i)^(?:medtop:)?([0-9]{8})$`)

// topicKeys returns the code and the label key a topic filter matches:
// "11000000" and "MEDTOP:11000000" both mean "medtop:11000000".
func topicKeys(topic string) (code, label string) {
	topic = strings.TrimSpace(topic)
	if m := topicCode.FindStringSubmatch(topic); m != nil {
		return "medtop:" + m[1], strings.ToLower(topic)
	}
	return topic, strings.ToLower(topic)
}

// row is an article with the key it was sorted by.
type row struct {
	Article
	sortAt int64
}

// collect reads article rows (articleColumns, then a rank if ranks is not
// nil), closes them, and attaches each article's topics.
func (s *Store) collect(ctx context.Context, rows *sql.Rows, ranks *[]float64) ([]row, error) {
	defer rows.Close()
	var out []row
	for rows.Next() {
		var r row
		var published sql.NullInt64
		var fetched, stored int64
		var keywords string
		dest := []any{&r.ID, &r.URL, &r.CanonicalURL, &r.Feed, &r.Source, &r.ContentHash,
			&r.Title, &r.Byline, &r.Language, &r.Text,
			&published, &fetched, &stored, &r.sortAt, &keywords,
			&r.MadeBy.Normalizer, &r.MadeBy.Tagger}
		var rank float64
		if ranks != nil {
			dest = append(dest, &rank)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, classify("scan article", err)
		}
		if published.Valid {
			t := fromMicros(published.Int64)
			r.Published = &t
		}
		r.FetchedAt, r.StoredAt = fromMicros(fetched), fromMicros(stored)
		if s.pg {
			pgUnescape(&r.URL, &r.CanonicalURL, &r.Feed, &r.Source, &r.Title, &r.Byline, &r.Text, &keywords)
		}
		r.Topics = []Topic{} // so that JSON shows [] rather than null
		r.Entities = []Entity{}
		if err := json.Unmarshal([]byte(keywords), &r.Keywords); err != nil {
			return nil, fmt.Errorf("article %s: decode keywords: %w: %w", r.ID, ErrPermanent, err)
		}
		if ranks != nil {
			*ranks = append(*ranks, rank)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, classify("read articles", err)
	}
	// Release the connection before the topics query: with a single
	// connection (":memory:") it would otherwise wait for itself.
	if err := rows.Close(); err != nil {
		return nil, classify("read articles", err)
	}
	if err := s.attachDetails(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// attachDetails reads the topics, entities and story links of arts.
func (s *Store) attachDetails(ctx context.Context, arts []row) error {
	if len(arts) == 0 {
		return nil
	}
	index := make(map[string]*Article, len(arts))
	args := make([]any, len(arts))
	for i := range arts {
		index[arts[i].ID] = &arts[i].Article
		args[i] = arts[i].ID
	}
	in := `(?` + strings.Repeat(", ?", len(arts)-1) + `)`
	if err := s.readDetails(ctx, "topics", `SELECT article_id, code, label, score, level FROM article_topics
		WHERE article_id IN `+in+` ORDER BY article_id, score DESC, code`, args, func(rows *sql.Rows) error {
		var id string
		var t Topic
		if err := rows.Scan(&id, &t.Code, &t.Label, &t.Score, &t.Level); err != nil {
			return err
		}
		if a := index[id]; a != nil {
			a.Topics = append(a.Topics, t)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := s.readDetails(ctx, "entities", `SELECT article_id, name, type, subtype, mentions, aliases FROM article_entities
		WHERE article_id IN `+in+` ORDER BY article_id, mentions DESC, name_key, type`, args, func(rows *sql.Rows) error {
		var id, aliases string
		var e Entity
		if err := rows.Scan(&id, &e.Name, &e.Type, &e.Subtype, &e.Mentions, &aliases); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(aliases), &e.Aliases); err != nil {
			return fmt.Errorf("article %s: decode aliases: %w: %w", id, ErrPermanent, err)
		}
		if a := index[id]; a != nil {
			a.Entities = append(a.Entities, e)
		}
		return nil
	}); err != nil {
		return err
	}
	return s.readDetails(ctx, "stories", `SELECT article_id, story_id, duplicate_of, derived_from, overlap FROM article_stories
		WHERE article_id IN `+in, args, func(rows *sql.Rows) error {
		var id string
		var st Story
		if err := rows.Scan(&id, &st.ID, &st.DuplicateOf, &st.DerivedFrom, &st.Overlap); err != nil {
			return err
		}
		if a := index[id]; a != nil {
			a.Story = &st
		}
		return nil
	})
}

// readDetails runs q and calls scan for each row.
func (s *Store) readDetails(ctx context.Context, what, q string, args []any, scan func(*sql.Rows) error) error {
	rows, err := s.r.QueryContext(ctx, s.bind(q), args...)
	if err != nil {
		return classify("read "+what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			if errors.Is(err, ErrPermanent) {
				return err
			}
			return classify("scan "+what, err)
		}
	}
	return classify("read "+what, rows.Err())
}
