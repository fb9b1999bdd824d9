package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Redact returns dsn with any password replaced, for logs and messages.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		if IsPostgres(dsn) && strings.Contains(dsn, "@") {
			return "postgres://…"
		}
		return dsn
	}
	return u.Redacted()
}

// OpenPostgres connects to the PostgreSQL database at dsn (a postgres:// URL;
// libpq's parameters such as sslmode go in its query) and brings its schema
// up to date. Reads and writes share one pool: PostgreSQL has no single-writer
// limit.
func OpenPostgres(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w: %w", Redact(dsn), ErrPermanent, err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = defaultConnectTimeout
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(max(4, 2*runtime.GOMAXPROCS(0)))
	db.SetMaxIdleConns(max(4, 2*runtime.GOMAXPROCS(0)))
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{w: db, r: db, pg: true, eachBatch: 200}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", Redact(dsn), err)
	}
	if err := s.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", Redact(dsn), err)
	}
	return s, nil
}

// pgTransient tells, by SQLSTATE class, whether a PostgreSQL error is one of
// the server's state rather than of the statement: connection loss (08), a
// serialization failure or deadlock (40), resources (53), the server shutting
// down or restarting (57), system errors (58), a lock not available (55), a
// transaction aborted by an earlier one of those (25P02). A unique violation
// (23505) is two replicas inserting the same new article at once: a retry
// finds the row and updates or skips it.
func pgTransient(pe *pgconn.PgError) bool {
	switch pe.Code {
	case "23505", "25P02":
		return true
	}
	switch pe.Code[:2] {
	case "08", "40", "53", "55", "57", "58":
		return true
	}
	return false
}

// isPgError reports whether err carries a PostgreSQL server error, and
// whether that one is transient.
func isPgError(err error) (pg, transient bool) {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false, false
	}
	return true, pgTransient(pe)
}

// pgTSQuery turns search words into the text of a tsquery, for List. The
// words are ANDed and a trailing '*' searches a prefix, as in SQLite. Each
// article's tsvector was built with its own language's configuration, so the
// query is normalized with every configuration an article can have and the
// results ORed: an article matches when the query, stemmed the way its text
// was, matches. A language filter narrows that to the one configuration. An
// empty result means no word survived normalization (all stop words).
func (s *Store) pgTSQuery(ctx context.Context, words []searchWord, language string) (string, error) {
	var b strings.Builder
	for i, w := range words {
		if i > 0 {
			b.WriteString(" & ")
		}
		// Quoting makes the tsquery parser read the word as text, never as
		// an operator.
		b.WriteString("'" + strings.ReplaceAll(strings.ReplaceAll(w.text, `\`, `\\`), "'", "''") + "'")
		if w.prefix {
			b.WriteString(":*")
		}
	}
	langs := pgLanguages
	if language != "" {
		langs = "{" + language + ",und}" // und: the word-for-word index
	}
	var q string
	err := s.r.QueryRowContext(ctx, `SELECT COALESCE(newsflow_tsquery_or(to_tsquery(c.cfg, unaccent($1)))::text, '')
		FROM (SELECT DISTINCT newsflow_ts_config(l) AS cfg FROM unnest($2::text[]) AS l) c`, b.String(), langs).Scan(&q)
	if err != nil {
		return "", classify("list articles: build text query", err)
	}
	return q, nil
}

// pgLanguages lists a language tag for each configuration newsflow_ts_config
// maps to, and 'und' for 'simple'.
const pgLanguages = "{ar,da,de,el,en,es,fi,fr,hu,id,it,lt,ne,nl,no,pt,ro,ru,sv,ta,tr,ga,hy,ca,eu,hi,sr,yi,und}"

// writeBatchPg runs a batch in one transaction on PostgreSQL over pgx
// directly: one statement reads and locks the stored rows (in id order, so
// two replicas writing overlapping batches cannot deadlock), and all the
// writes go in one pipelined round trip (pgx.Batch) instead of one each.
func (s *Store) writeBatchPg(ctx context.Context, ids []string, plan func(map[string]*storedState) ([]stmt, error)) error {
	return s.txPg(ctx, "upsert articles", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, stateQuery+`= ANY($1) ORDER BY id FOR UPDATE`, ids)
		if err != nil {
			return classify("upsert articles: read stored state", err)
		}
		states := make(map[string]*storedState, len(ids))
		if err := scanStates(pgRows{rows}, states); err != nil {
			return classify("upsert articles: read stored state", err)
		}
		stmts, err := plan(states)
		if err != nil {
			return err
		}
		var b pgx.Batch
		for _, st := range stmts {
			b.Queue(st.sql, pgEscapeArgs(st.args)...)
		}
		br := tx.SendBatch(ctx, &b)
		for _, st := range stmts {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return classify(st.op, err)
			}
		}
		return classify("upsert articles", br.Close())
	})
}

// txPg runs fn in one transaction on PostgreSQL over pgx directly (on a
// connection of the writer pool) and commits it. Errors are classified and
// named by op; fn classifies its own.
func (s *Store) txPg(ctx context.Context, op string, fn func(pgx.Tx) error) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return classify(op+": connect", err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		tx, err := dc.(*stdlib.Conn).Conn().Begin(ctx)
		if err != nil {
			return classify(op+": begin", err)
		}
		defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
		if err := fn(tx); err != nil {
			return err
		}
		return classify(op+": commit", tx.Commit(ctx))
	})
	if err != nil && !errors.Is(err, ErrTransient) && !errors.Is(err, ErrPermanent) {
		return classify(op, err) // from database/sql: a lost connection
	}
	return err
}

// pgRows gives pgx.Rows the Close that returns an error, as sql.Rows has.
type pgRows struct{ pgx.Rows }

func (r pgRows) Close() error { r.Rows.Close(); return r.Rows.Err() }

// defaultConnectTimeout bounds connecting when the DSN sets no connect_timeout.
const defaultConnectTimeout = 5 * time.Second

// PostgreSQL's text cannot hold a NUL byte, which a page's byline or text
// may contain. Stored text has each NUL as U+FFFF (a noncharacter, never
// in a page's decoded text) and reads give the NUL back: the article
// round-trips unchanged on both engines.
const pgNUL = "\uffff"

// pgEscapeArgs returns args with every NUL of a string argument escaped.
func pgEscapeArgs(args []any) []any {
	var out []any
	for i, a := range args {
		if s, ok := a.(string); ok && strings.IndexByte(s, 0) >= 0 {
			if out == nil {
				out = slices.Clone(args)
			}
			out[i] = strings.ReplaceAll(s, "\x00", pgNUL)
		}
	}
	if out == nil {
		return args
	}
	return out
}

// pgUnescape gives back the NULs pgEscapeArgs stored as U+FFFF.
func pgUnescape(fields ...*string) {
	for _, f := range fields {
		if strings.Contains(*f, pgNUL) {
			*f = strings.ReplaceAll(*f, pgNUL, "\x00")
		}
	}
}
