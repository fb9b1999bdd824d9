package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/services/sink/store"
	"github.com/newsflow/newsflow/services/sink/store/storetest"
)

// TestABatchIndexesItsTextsOnce checks that SQLite's full-text index takes
// the new texts of a write batch as one segment, not one per article (each
// segment costs a write to disk and, later, merges), and that it stays
// exactly the index of the stored texts through batches that insert, edit
// texts, relink without touching texts, and carry two copies of an article.
func TestABatchIndexesItsTextsOnce(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	segments := func() int {
		n, err := store.FTSSegments(s)
		require.NoError(t, err)
		return n
	}
	found := func(word string) int {
		page, err := s.List(ctx, store.Query{Q: word})
		require.NoError(t, err)
		return len(page.Articles)
	}
	write := func(arts ...*store.Article) []store.Result {
		res, err := s.UpsertBatch(ctx, arts)
		require.NoError(t, err)
		for _, r := range res {
			require.NoError(t, r.Err)
		}
		return res
	}
	before := segments()

	arts := storetest.Articles(40, 61)
	arts[3].Text += " A kiwiglide passed."
	write(arts[:20]...)
	require.Equal(t, before+1, segments(), "a batch of 20 new articles: one segment")
	require.Equal(t, 1, found("kiwiglide"))

	// Edits, relinks, new articles and one new article twice (its second
	// copy edited) in one batch.
	later := func(a *store.Article) *store.Article {
		c := *a
		c.FetchedAt = a.FetchedAt.Add(time.Hour)
		return &c
	}
	edited := later(arts[3])
	edited.ContentHash, edited.Text = "edited", strings.Replace(arts[3].Text, "kiwiglide", "takaheflight", 1)
	relinked := later(arts[4])
	relinked.Story = &store.Story{ID: "story-elsewhere"}
	arts[20].Text += " A moaswoop passed."
	twice := later(arts[20])
	twice.ContentHash, twice.Text = "twice", strings.Replace(arts[20].Text, "moaswoop", "keaswoop", 1)
	res := write(slices.Concat([]*store.Article{edited, relinked}, arts[20:30], []*store.Article{twice})...)
	require.Equal(t, []store.Outcome{store.Updated, store.Updated}, []store.Outcome{res[0].Outcome, res[1].Outcome})
	require.Equal(t, store.Updated, res[len(res)-1].Outcome, "the second copy updates the first")
	require.NoError(t, store.FTSIntegrity(s))
	require.Equal(t, 0, found("kiwiglide"), "the edited text's old words are out")
	require.Equal(t, 1, found("takaheflight"))
	require.Equal(t, 0, found("moaswoop"), "the first copy's words are out")
	require.Equal(t, 1, found("keaswoop"))

	write(arts[30:]...)
	require.NoError(t, store.FTSIntegrity(s))
	n, err := s.Count(ctx)
	require.NoError(t, err)
	require.Equal(t, 40, n)
}
