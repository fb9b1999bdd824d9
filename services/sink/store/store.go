// Package store keeps the sink's articles in SQLite: idempotent upserts keyed
// by article id, full-text search with bm25 ranking, topic, language and time
// filters, and keyset pagination.
//
// The SQL is kept close to standard so that a PostgreSQL store can share the
// contract; what is SQLite's own lives in fts.go, the DSN below and the
// 0002_fts5 migration.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
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
	r   *sql.DB
	now func() time.Time
	// eachBatch is how many articles Each reads per query.
	eachBatch int
}

const busyTimeout = 5 * time.Second

// Open opens, or creates, the database at path and brings its schema up to
// date. ":memory:" gives a private in-memory database, for tests.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open store %q: path must be non-empty and contain no '?' or '#': %w", path, ErrPermanent)
	}
	common := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)", busyTimeout.Milliseconds())
	w, err := sql.Open("sqlite", path+"?"+common+
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{w: w, r: w, now: time.Now, eachBatch: 200}
	if err := migrate(ctx, w, s.now); err != nil {
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
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

// Ping checks that both the writer and the readers can reach the database.
func (s *Store) Ping(ctx context.Context) error {
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

// Close lets SQLite refresh its planner statistics, then closes the
// database.
func (s *Store) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	// Best effort: statistics only help the planner, a failure loses nothing.
	_, _ = s.w.ExecContext(ctx, `PRAGMA optimize`)
	var errs []error
	if s.r != s.w {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}
