package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestClassify feeds classify real driver errors, not hand-made codes.
func TestClassify(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := sql.Open("sqlite", path+"?_txlock=immediate")
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(`CREATE TABLE t (k INTEGER PRIMARY KEY, v INTEGER NOT NULL)`)
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO t VALUES (1, 1)`)
	require.NoError(t, err)

	// A second handle without a busy timeout while the first holds the
	// write lock: SQLITE_BUSY at once.
	locker, err := db.Begin()
	require.NoError(t, err)
	defer locker.Rollback() //nolint:errcheck
	other, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)")
	require.NoError(t, err)
	defer other.Close()
	_, busy := other.Exec(`INSERT INTO t VALUES (2, 2)`)
	require.Error(t, busy)
	_, duplicate := locker.Exec(`INSERT INTO t VALUES (1, 1)`)
	require.Error(t, duplicate)
	_, notNull := locker.Exec(`INSERT INTO t VALUES (3, NULL)`)
	require.Error(t, notNull)
	_, syntax := locker.Exec(`INSERT INTO`)
	require.Error(t, syntax)

	tests := []struct {
		name      string
		err       error
		transient bool
	}{
		{"busy", busy, true},
		{"primary key", duplicate, false},
		{"not null", notNull, false},
		{"syntax", syntax, false},
		{"cancelled", context.Canceled, true},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), true},
		{"closed pool", sql.ErrConnDone, true},
		{"already permanent", fmt.Errorf("x: %w", ErrPermanent), false},
		{"already transient", fmt.Errorf("x: %w", ErrTransient), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classify("op", tt.err)
			require.ErrorIs(t, err, tt.err)
			require.Equal(t, tt.transient, Transient(err), "%v", err)
			require.Equal(t, !tt.transient, errors.Is(err, ErrPermanent), "%v", err)
		})
	}
	require.NoError(t, classify("op", nil))
}
