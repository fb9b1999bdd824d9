package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/services/sink/store"
	"github.com/newsflow/newsflow/services/sink/store/storetest"
)

func TestOpenCreatesSchemaOnceAndUsesWAL(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "news.db")
	arts := storetest.Articles(3, 1)

	s, err := store.Open(ctx, path)
	require.NoError(t, err)
	for _, a := range arts {
		_, err := s.Upsert(ctx, a)
		require.NoError(t, err)
	}
	require.NoError(t, s.Close())

	// Reopening applies nothing twice and keeps the rows.
	s, err = store.Open(ctx, path)
	require.NoError(t, err)
	n, err := s.Count(ctx)
	require.NoError(t, err)
	require.Equal(t, len(arts), n)
	require.NoError(t, s.Ping(ctx))
	// The writer's own settings (store.go: statement journals in memory,
	// its automatic checkpoint only a backstop for the checkpointer's).
	for pragma, want := range map[string]string{"temp_store": "2", "wal_autocheckpoint": "40000", "synchronous": "1"} {
		got, err := store.WriterPragma(s, pragma)
		require.NoError(t, err)
		require.Equal(t, want, got, pragma)
	}
	require.NoError(t, s.Close())

	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	var mode string
	require.NoError(t, db.QueryRow(`PRAGMA journal_mode`).Scan(&mode))
	require.Equal(t, "wal", mode)
	var versions []int
	rows, err := db.Query(`SELECT version FROM schema_migrations ORDER BY version`)
	require.NoError(t, err)
	for rows.Next() {
		var v int
		require.NoError(t, rows.Scan(&v))
		versions = append(versions, v)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, versions)
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "news.db")
	s, err := store.Open(ctx, path)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 0)`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	_, err = store.Open(ctx, path)
	require.ErrorIs(t, err, store.ErrPermanent)
	require.ErrorContains(t, err, "newer")
}

func TestOpenRejectsBadPath(t *testing.T) {
	for _, path := range []string{"", "news.db?mode=ro", "a#b"} {
		t.Run(path, func(t *testing.T) {
			_, err := store.Open(context.Background(), path)
			require.ErrorIs(t, err, store.ErrPermanent)
		})
	}
}

func TestUpsertOutcomes(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open func(testing.TB, ...*store.Article) *store.Store) {
		ctx := context.Background()
		s := open(t)
		v1 := storetest.Fixtures()[0]
		v1.Title = "Tram line approved"

		resend := *v1 // a duplicate delivery: exactly what is stored

		replayed := *v1 // the same page re-processed by a newer normalizer
		replayed.Title = "Tram line approved by council"

		v2 := *v1
		v2.ContentHash = "h-zurich-2"
		v2.FetchedAt = v1.FetchedAt.Add(time.Hour)
		v2.Title = "Tram line postponed"
		v2.Topics = []store.Topic{{Code: "medtop:04000000", Label: "economy, business and finance", Score: 0.5, Level: 1}}

		late := replayed // the older version, redelivered after v2 was stored
		late.Title = "An old title that must not be written"

		steps := []struct {
			name      string
			article   *store.Article
			want      store.Outcome
			wantTitle string
			wantTopic string
		}{
			{"new id", v1, store.Inserted, "Tram line approved", "medtop:11000000"},
			{"duplicate delivery", &resend, store.Unchanged, "Tram line approved", "medtop:11000000"},
			{"same page re-processed", &replayed, store.Updated, "Tram line approved by council", "medtop:11000000"},
			{"same id, new version", &v2, store.Updated, "Tram line postponed", "medtop:04000000"},
			{"redelivered new version", &v2, store.Unchanged, "Tram line postponed", "medtop:04000000"},
			{"older version arriving late", &late, store.Stale, "Tram line postponed", "medtop:04000000"},
		}
		for _, st := range steps {
			got, err := s.Upsert(ctx, st.article)
			require.NoError(t, err, st.name)
			require.Equal(t, st.want, got, st.name)
			require.False(t, st.article.StoredAt.IsZero(), st.name)

			a, err := s.Get(ctx, v1.ID)
			require.NoError(t, err, st.name)
			require.Equal(t, st.wantTitle, a.Title, st.name)
			require.Len(t, a.Topics, 1, st.name)
			require.Equal(t, st.wantTopic, a.Topics[0].Code, st.name)
			require.True(t, st.article.StoredAt.Equal(a.StoredAt), st.name)
			n, err := s.Count(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, n, st.name)
		}

		// The full-text index follows the update.
		for q, want := range map[string]int{"approved": 0, "postponed": 1, "Tram": 1} {
			page, err := s.List(ctx, store.Query{Q: q})
			require.NoError(t, err)
			require.Len(t, page.Articles, want, q)
		}
	})
}

func TestUpsertRejectsInvalidArticles(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open func(testing.TB, ...*store.Article) *store.Store) {
		valid := func() *store.Article { return storetest.Articles(1, 2)[0] }
		tests := []struct {
			name   string
			mutate func(a *store.Article)
		}{
			{"no id", func(a *store.Article) { a.ID = "" }},
			{"no content hash", func(a *store.Article) { a.ContentHash = "" }},
			{"topic without code", func(a *store.Article) { a.Topics = []store.Topic{{Label: "politics"}} }},
			{"topic twice", func(a *store.Article) {
				a.Topics = []store.Topic{{Code: "medtop:11000000"}, {Code: "medtop:11000000"}}
			}},
		}
		s := open(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := valid()
				tt.mutate(a)
				_, err := s.Upsert(context.Background(), a)
				require.ErrorIs(t, err, store.ErrInvalidArticle)
				require.ErrorIs(t, err, store.ErrPermanent)
				require.False(t, store.Transient(err))
			})
		}
		n, err := s.Count(context.Background())
		require.NoError(t, err)
		require.Zero(t, n)
	})
}

func TestGetRoundTrip(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open func(testing.TB, ...*store.Article) *store.Store) {
		ctx := context.Background()
		arts := storetest.Fixtures()
		s := open(t, arts...)
		for _, want := range storetest.Fixtures() {
			t.Run(want.ID, func(t *testing.T) {
				got, err := s.Get(ctx, want.ID)
				require.NoError(t, err)
				require.False(t, got.StoredAt.IsZero())
				got.StoredAt = time.Time{}
				require.Len(t, got.Versions, 1)
				got.Versions = nil // set by Get only
				require.Equal(t, normalized(want), got)
			})
		}
		_, err := s.Get(ctx, "no-such-id")
		require.ErrorIs(t, err, store.ErrNotFound)
	})
}

// normalized is a as the store gives it back: times in UTC at microsecond
// precision, empty lists rather than nil ones.
func normalized(a *store.Article) *store.Article {
	b := *a
	if b.Published != nil {
		p := b.Published.UTC().Truncate(time.Microsecond)
		b.Published = &p
	}
	b.FetchedAt = b.FetchedAt.UTC().Truncate(time.Microsecond)
	if b.Topics == nil {
		b.Topics = []store.Topic{}
	}
	if b.Keywords == nil {
		b.Keywords = []string{}
	}
	if b.Entities == nil {
		b.Entities = []store.Entity{}
	}
	return &b
}

func TestUpsertLowercasesLanguage(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open func(testing.TB, ...*store.Article) *store.Store) {
		ctx := context.Background()
		a := storetest.Articles(1, 3)[0]
		a.Language = "PT-BR"
		s := open(t, a)
		got, err := s.Get(ctx, a.ID)
		require.NoError(t, err)
		require.Equal(t, "pt-br", got.Language)
		page, err := s.List(ctx, store.Query{Language: "pt-BR"})
		require.NoError(t, err)
		require.Len(t, page.Articles, 1)
	})
}

func TestEachVisitsEveryArticleInIDOrder(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open func(testing.TB, ...*store.Article) *store.Store) {
		ctx := context.Background()
		for _, n := range []int{0, 6, 20, 21} { // with batches of 7: none, part of one, several, an exact multiple
			t.Run(fmt.Sprint(n), func(t *testing.T) {
				s := open(t, storetest.Articles(n, 4)...)
				store.SetEachBatch(s, 7)
				var ids []string
				err := s.Each(ctx, func(a *store.Article) error {
					// The store is usable from inside fn, even over one connection.
					got, err := s.Get(ctx, a.ID)
					if err != nil {
						return err
					}
					require.Len(t, got.Versions, 1)
					got.Versions = nil // set by Get only
					require.Equal(t, got, a)
					ids = append(ids, a.ID)
					return nil
				})
				require.NoError(t, err)
				require.Len(t, ids, n)
				require.IsIncreasing(t, ids)
			})
		}
	})
}

func TestEachStopsAtTheFirstError(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open func(testing.TB, ...*store.Article) *store.Store) {
		s := open(t, storetest.Articles(3, 4)...)
		stop := errors.New("stop")
		calls := 0
		err := s.Each(context.Background(), func(*store.Article) error { calls++; return stop })
		require.ErrorIs(t, err, stop)
		require.Equal(t, 1, calls)
	})
}

func TestClosedStoreErrorsAreTransient(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, filepath.Join(t.TempDir(), "news.db"))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = s.Upsert(ctx, storetest.Articles(1, 5)[0])
	require.True(t, store.Transient(err), "%v", err)
	require.Error(t, s.Ping(ctx))
}

func TestUpsertWhileLockedIsTransient(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "news.db")
	s, err := store.Open(ctx, path)
	require.NoError(t, err)
	defer s.Close()

	// Another process holds the write lock.
	other, err := sql.Open("sqlite", path+"?_txlock=immediate")
	require.NoError(t, err)
	defer other.Close()
	tx, err := other.Begin()
	require.NoError(t, err)
	defer tx.Rollback() //nolint:errcheck

	ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err = s.Upsert(ctx, storetest.Articles(1, 6)[0])
	require.Error(t, err)
	require.True(t, store.Transient(err), "%v", err)
	require.NotErrorIs(t, err, store.ErrPermanent)
}

// TestOpenCreatesMissingDirectories: a -store path under directories that
// do not exist yet works; before, SQLite's CANTOPEN was retried forever as
// if the store were down.
func TestOpenCreatesMissingDirectories(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "news.db")
	st, err := store.Open(t.Context(), path)
	require.NoError(t, err)
	require.NoError(t, st.Close())
	_, err = os.Stat(path)
	require.NoError(t, err)
}

// TestTheLogIsCopiedBesideTheWriterAndStartedOver: what the writer commits
// reaches the database file without the writer's own checkpoint (its
// backstop waits for 40,000 frames), and a log that grows long is started
// over.
func TestTheLogIsCopiedBesideTheWriterAndStartedOver(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "c.db")
	s, err := store.Open(ctx, path)
	require.NoError(t, err)
	defer s.Close()
	store.SetWALRestart(s, 50)
	size := func(p string) int64 {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		return fi.Size()
	}
	before := size(path)
	arts := storetest.Articles(3000, 7)
	_, err = s.UpsertBatch(ctx, arts[:10])
	require.NoError(t, err)
	require.Eventually(t, func() bool { return size(path) > before }, 5*time.Second, 10*time.Millisecond,
		"the first batch copied into the database file")

	// Written on back to back for at least three of the checkpointer's
	// rounds, past the 50 frames that make the log long. A log that is
	// never started over grows its file with every commit; one started
	// over is written again from the start of the file, which then stops
	// growing for a while.
	grew, kept := 0, 0
	last := size(path + "-wal")
	for i, began := 10, time.Now(); i < len(arts) && (i < 300 || time.Since(began) < 700*time.Millisecond); i += 10 {
		_, err = s.UpsertBatch(ctx, arts[i:i+10])
		require.NoError(t, err)
		if now := size(path + "-wal"); now > last {
			grew, last = grew+1, now
		} else {
			kept++
		}
	}
	require.Positive(t, kept, "the log's file grew with each of %d commits: the log was never started over", grew)
}
