package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations of an engine ("sqlite" or
// "postgres") in version order. A file is named NNNN_name.sql; the number is
// the version recorded in schema_migrations.
func migrations(engine string) ([]migration, error) {
	dir := path.Join("migrations", engine)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		base := strings.TrimSuffix(e.Name(), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %s: want NNNN_name.sql", e.Name())
		}
		body, err := migrationFiles.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		out = append(out, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("migration version %d appears twice", out[i].version)
		}
	}
	return out, nil
}

// migrationLock is the PostgreSQL advisory lock key that serialises
// migrations: "newsflow" in ASCII.
const migrationLock = 0x6e657773666c6f77

// migrate applies, in one transaction each, the migrations the database has
// not seen. Each transaction first takes a lock that two replicas starting
// together cannot both hold (SQLite: the writer begins IMMEDIATE; PostgreSQL:
// a transaction-scoped advisory lock), then checks again whether the
// migration is applied, so each is applied exactly once.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations(s.Engine())
	if err != nil {
		return err
	}
	if err := s.inMigrationTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at BIGINT  NOT NULL
		)`)
		return classify("create schema_migrations", err)
	}); err != nil {
		return err
	}
	var current int
	if err := s.w.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return classify("read schema version", err)
	}
	if latest := ms[len(ms)-1].version; current > latest {
		return fmt.Errorf("database schema version %d is newer than this binary's %d: %w", current, latest, ErrPermanent)
	}
	for _, m := range ms {
		if err := s.inMigrationTx(ctx, func(tx *sql.Tx) error { return s.apply(ctx, tx, m) }); err != nil {
			return err
		}
	}
	return nil
}

// inMigrationTx runs fn in a transaction holding the migration lock.
func (s *Store) inMigrationTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return classify("begin migration", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if s.pg {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
			return classify("lock migrations", err)
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	return classify("commit migration", tx.Commit())
}

func (s *Store) apply(ctx context.Context, tx *sql.Tx, m migration) error {
	var done int
	if err := tx.QueryRowContext(ctx, s.bind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), m.version).Scan(&done); err != nil {
		return classify("read schema version", err)
	}
	if done > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return classify(fmt.Sprintf("apply migration %d_%s", m.version, m.name), err)
	}
	if _, err := tx.ExecContext(ctx, s.bind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
		m.version, m.name, time.Now().UnixMicro()); err != nil {
		return classify("record migration", err)
	}
	return nil
}
