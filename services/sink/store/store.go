// Package store keeps the sink's articles in SQLite or PostgreSQL under one
// contract: idempotent batched upserts keyed by article id, version history,
// full-text search ranked by relevance, topic, entity, source, language and
// time filters, keyset pagination, stories, retention and export.
//
// Both engines run the same code and nearly the same SQL (written with '?'
// placeholders, rebound for PostgreSQL); what differs is the schema
// (migrations/sqlite, migrations/postgres), full-text search (FTS5 with bm25
// versus a tsvector with ts_rank, in fts.go and postgres.go) and error
// classification.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Store is safe for concurrent use.
type Store struct {
	// w is a single connection: SQLite has one writer at a time anyway, and
	// serialising in the pool rather than on the file lock avoids busy waits.
	w *sql.DB
	// r serves reads concurrently (WAL lets readers run beside the writer).
	// For ":memory:" it is w, since every connection would get its own
	// database.
	r *sql.DB
	// pg is true for PostgreSQL, false for SQLite.
	pg bool
	// eachBatch is how many articles Each reads per query.
	eachBatch int
	// path and ident are the SQLite file and its identity when opened,
	// checked before and after every write and by Ping.
	path  string
	ident fileIdent
	// stamps are the stage version stamps known to be in stage_versions.
	stamps sync.Map
	// prepared are the SQLite writer's prepared statements.
	prepared preparedSet
	// ckpt checkpoints a SQLite file's write-ahead log beside the writer.
	ckpt *checkpointer
}

const busyTimeout = 5 * time.Second

// The SQLite writer's connection keeps statement journals (which undo one
// statement of a transaction) in memory rather than in temporary files.
// Its write-ahead log is copied into the database by the checkpointer
// (checkpoint.go) after commits, at most five times a second, and started
// over once it holds walPages frames (4 KiB each, 40 MiB, plus what is
// written meanwhile); the writer's own automatic checkpoint, at four times
// that, is only the backstop. (With SQLite's own 1,000 frames the writer copied hot pages
// again and again: moving its checkpoint to 10,000 frames had taken a
// third off the time per article in small batches.)
const (
	walPages      = 10_000
	writerPragmas = "&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)"
)

// OpenDSN opens the store a data source name names: "sqlite:PATH" or a
// PostgreSQL URL ("postgres://…" or "postgresql://…").
func OpenDSN(ctx context.Context, dsn string) (*Store, error) {
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		return Open(ctx, path)
	}
	if IsPostgres(dsn) {
		return OpenPostgres(ctx, dsn)
	}
	return nil, fmt.Errorf("open store: want sqlite:PATH or postgres://…, got %q: %w", Redact(dsn), ErrPermanent)
}

// Open opens, or creates, the SQLite database at path and brings its schema
// up to date. ":memory:" gives a private in-memory database, for tests.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open store %q: path must be non-empty and contain no '?' or '#': %w", path, ErrPermanent)
	}
	if path != ":memory:" && !strings.HasPrefix(path, "file:") {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("open store %s: %w: %w", path, ErrPermanent, err)
		}
	}
	common := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)", busyTimeout.Milliseconds())
	w, err := sql.Open("sqlite", path+"?"+common+writerPragmas+
		fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)&_txlock=immediate", 4*walPages))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{w: w, r: w, eachBatch: 200}
	if err := s.migrateSQLite(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if path != ":memory:" {
		r, err := sql.Open("sqlite", path+"?"+common+"&_pragma=query_only(1)")
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("open store %s: %w", path, err)
		}
		r.SetMaxOpenConns(max(2, runtime.GOMAXPROCS(0)))
		s.r = r
		if s.ckpt, err = startCheckpointer(path + "?" + common); err != nil {
			s.Close()
			return nil, fmt.Errorf("open store %s: %w", path, err)
		}
	}
	if path != ":memory:" && !strings.HasPrefix(path, "file:") {
		if s.ident, err = identify(path); err != nil {
			s.Close()
			return nil, fmt.Errorf("open store %s: %w", path, err)
		}
		s.path = path
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

// migrateSQLite runs migrate, retrying for up to busyTimeout while the file
// is busy. When several handles open one new database together, SQLite
// sometimes answers SQLITE_BUSY at once instead of waiting in its busy
// handler (TestMigrationsRunOnceUnderConcurrentOpens failed so about once in
// 70 runs under -race).
func (s *Store) migrateSQLite(ctx context.Context) error {
	deadline := time.Now().Add(busyTimeout)
	for {
		err := s.migrate(ctx)
		if !Transient(err) || ctx.Err() != nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Engine is "sqlite" or "postgres".
func (s *Store) Engine() string {
	if s.pg {
		return "postgres"
	}
	return "sqlite"
}

// bind rewrites a statement written with '?' placeholders for the engine:
// PostgreSQL numbers them ($1, $2, …). No statement of this package has a
// '?' anywhere else.
func (s *Store) bind(q string) string {
	if !s.pg || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// pingTimeout bounds Ping. On SQLite the writer is one connection, which
// the sink's workers hold for the busy timeout each while another process
// keeps the database locked: a ping waiting its turn behind them could wait
// for tens of seconds (measured: over 30 s with two workers).
const pingTimeout = 2 * time.Second

// Ping checks that both the writer and the readers can reach the database,
// within pingTimeout.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.checkFile(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	var one int
	if err := s.w.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return classify("ping store", err)
	}
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&one); err != nil {
		return classify("ping store", err)
	}
	return nil
}

// Count returns the number of articles stored.
func (s *Store) Count(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM articles`).Scan(&n); err != nil {
		return 0, classify("count articles", err)
	}
	return n, nil
}

// Reached is when an article was first fetched and first stored.
type Reached struct {
	Fetched, Stored time.Time
}

// FirstStored returns, by article id, when each article was first fetched
// and first reached the store: its earliest version's times, which later
// writes of the same content (replays, story relinks) leave alone.
func (s *Store) FirstStored(ctx context.Context) (map[string]Reached, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT article_id, MIN(fetched_at), MIN(stored_at) FROM article_versions GROUP BY article_id`)
	if err != nil {
		return nil, classify("first stored", err)
	}
	defer rows.Close()
	out := map[string]Reached{}
	for rows.Next() {
		var id string
		var fetched, stored int64
		if err := rows.Scan(&id, &fetched, &stored); err != nil {
			return nil, classify("first stored", err)
		}
		out[id] = Reached{Fetched: fromMicros(fetched), Stored: fromMicros(stored)}
	}
	return out, classify("first stored", rows.Err())
}

// Close lets SQLite refresh its planner statistics, then closes the
// database.
func (s *Store) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if !s.pg {
		// Best effort: statistics only help the planner, a failure loses nothing.
		_, _ = s.w.ExecContext(ctx, `PRAGMA optimize`)
	}
	s.prepared.close()
	errs := []error{s.ckpt.close()}
	if s.r != s.w {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// Size returns the database's size in bytes: SQLite's pages in use (with
// what the write-ahead log holds), or PostgreSQL's pg_database_size.
func (s *Store) Size(ctx context.Context) (int64, error) {
	q := `SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()`
	if s.pg {
		q = `SELECT pg_database_size(current_database())`
	}
	var n int64
	if err := s.r.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return 0, classify("database size", err)
	}
	return n, nil
}
