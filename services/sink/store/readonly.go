package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// ErrNotNewsflow says a database holds no newsflow schema: a read-only
// command refuses it rather than creating tables in another application's
// database.
var ErrNotNewsflow = errors.New("not a newsflow database")

// OpenReadOnly opens the store dsn names for reading only, as export does:
// it creates nothing (no file, no table, no migration), writes nothing, and
// refuses a database without newsflow's schema.
func OpenReadOnly(ctx context.Context, dsn string) (*Store, error) {
	var s *Store
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		if path == "" || strings.ContainsAny(path, "?#") {
			return nil, fmt.Errorf("open store %q: path must be non-empty and contain no '?' or '#': %w", path, ErrPermanent)
		}
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		db, err := sql.Open("sqlite", path+fmt.Sprintf("?_pragma=busy_timeout(%d)&_pragma=query_only(1)", busyTimeout.Milliseconds()))
		if err != nil {
			return nil, fmt.Errorf("open store %s: %w", path, err)
		}
		db.SetMaxOpenConns(max(2, runtime.GOMAXPROCS(0)))
		s = &Store{w: db, r: db, eachBatch: 200}
	} else if IsPostgres(dsn) {
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("open store %s: %w: %w", Redact(dsn), ErrPermanent, err)
		}
		if cfg.ConnectTimeout == 0 {
			cfg.ConnectTimeout = defaultConnectTimeout
		}
		cfg.RuntimeParams["default_transaction_read_only"] = "on"
		db := stdlib.OpenDB(*cfg)
		db.SetMaxOpenConns(4)
		s = &Store{w: db, r: db, pg: true, eachBatch: 200}
	} else {
		return nil, fmt.Errorf("open store: want sqlite:PATH or postgres://…, got %q: %w", Redact(dsn), ErrPermanent)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n == 0 {
		s.Close()
		if err != nil && Transient(classify("", err)) && !strings.Contains(err.Error(), "no such table") && !strings.Contains(err.Error(), "does not exist") {
			return nil, fmt.Errorf("open store %s: %w", Redact(dsn), classify("read schema", err))
		}
		return nil, fmt.Errorf("open store %s: %w: it has no schema_migrations table, so newsflow never wrote it", Redact(dsn), ErrNotNewsflow)
	}
	return s, nil
}
