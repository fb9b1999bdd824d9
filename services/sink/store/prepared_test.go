package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/services/sink/store"
	"github.com/newsflow/newsflow/services/sink/store/storetest"
)

// The SQLite writer prepares the statements its batches run, up to a bound,
// and what it runs prepared writes what it wrote from the text: articles
// with from 0 to 99 entities make 100 texts of the entity insert, more than
// the cache holds, and each is read back whole.
func TestPreparedStatementsAreBoundedAndWriteTheSame(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, filepath.Join(t.TempDir(), "news.db"))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	require.Zero(t, store.Prepared(s))

	arts := storetest.Articles(200, 7)
	for i, a := range arts {
		a.Entities = nil
		for j := range i % 100 {
			a.Entities = append(a.Entities, store.Entity{Name: fmt.Sprintf("Person %d", j), Type: "person", Mentions: 1 + j%3, Aliases: []string{}})
		}
	}
	for i := 0; i < len(arts); i += 2 {
		res, err := s.UpsertBatch(ctx, arts[i:i+2])
		require.NoError(t, err)
		for _, r := range res {
			require.NoError(t, r.Err)
			require.Equal(t, store.Inserted, r.Outcome)
		}
		if i == 2 {
			// The first batch's texts are prepared once it committed.
			require.Positive(t, store.Prepared(s))
		}
	}
	require.Equal(t, store.PreparedMax, store.Prepared(s))

	for i, a := range arts {
		got, err := s.Get(ctx, a.ID)
		require.NoError(t, err)
		require.Len(t, got.Entities, i%100, a.ID)
		require.Equal(t, a.Title, got.Title)
		require.Len(t, got.Topics, len(a.Topics))
	}
	// Written again unchanged: every one found stored as it was.
	for i := 0; i < len(arts); i += 2 {
		res, err := s.UpsertBatch(ctx, arts[i:i+2])
		require.NoError(t, err)
		for _, r := range res {
			require.Equal(t, store.Unchanged, r.Outcome)
		}
	}
}
