package store_test

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/services/sink/store"
	"github.com/newsflow/newsflow/services/sink/store/pgtest"
	"github.com/newsflow/newsflow/services/sink/store/storetest"
)

type opener = func(testing.TB, ...*store.Article) *store.Store

func TestUpsertBatch(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		arts := storetest.Articles(4, 40)
		stored := *arts[0]
		_, err := s.Upsert(ctx, &stored)
		require.NoError(t, err)

		invalid := *arts[2]
		invalid.ContentHash = ""
		again := *arts[1] // the same article twice in one batch
		newer := *arts[3]
		newer.ContentHash += "-v2"
		newer.FetchedAt = newer.FetchedAt.Add(time.Minute)
		batch := []*store.Article{arts[0], arts[1], &invalid, &again, arts[3], &newer}
		res, err := s.UpsertBatch(ctx, batch)
		require.NoError(t, err)
		want := []store.Outcome{store.Unchanged, store.Inserted, 0, store.Unchanged, store.Inserted, store.Updated}
		for i, r := range res {
			require.Equal(t, want[i], r.Outcome, "article %d", i)
			if i == 2 {
				require.ErrorIs(t, r.Err, store.ErrInvalidArticle)
			} else {
				require.NoError(t, r.Err, "article %d", i)
				require.False(t, batch[i].StoredAt.IsZero(), "article %d", i)
			}
		}
		n, err := s.Count(ctx)
		require.NoError(t, err)
		require.Equal(t, 3, n)
		got, err := s.Get(ctx, arts[3].ID)
		require.NoError(t, err)
		require.Equal(t, newer.ContentHash, got.ContentHash)

		res, err = s.UpsertBatch(ctx, []*store.Article{&invalid})
		require.NoError(t, err, "a batch of invalid articles opens no transaction")
		require.ErrorIs(t, res[0].Err, store.ErrPermanent)
	})
}

// TestSearchIndexFollowsTextOnly: a write that changes an article but not
// its text (a story relink, a replay with new links) leaves the search
// index alone; one that changes the text indexes it anew. The index entry
// is removed by hand first, so a write that re-indexes shows in search.
func TestSearchIndexFollowsTextOnly(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		a := storetest.Articles(1, 47)[0]
		a.Text += " The quokkaflight landed."
		_, err := s.Upsert(ctx, a)
		require.NoError(t, err)
		found := func(word string) bool {
			page, err := s.List(ctx, store.Query{Q: word})
			require.NoError(t, err)
			return len(page.Articles) == 1
		}
		require.True(t, found("quokkaflight"))
		require.NoError(t, store.Unindex(s, a.ID))
		require.False(t, found("quokkaflight"), "unindexed")

		relinked := *a
		relinked.Story = &store.Story{ID: "story-elsewhere", DuplicateOf: "story-elsewhere"}
		relinked.Keywords = []string{"relinked"}
		o, err := s.Upsert(ctx, &relinked)
		require.NoError(t, err)
		require.Equal(t, store.Updated, o)
		require.False(t, found("quokkaflight"), "a write with the same text does not index it again")

		// Another article: its text edited, the index follows.
		b := storetest.Articles(2, 48)[1]
		b.Text += " A wombatlight passed."
		_, err = s.Upsert(ctx, b)
		require.NoError(t, err)
		edited := *b
		edited.ContentHash, edited.Text = "hash-2", strings.Replace(b.Text, "wombatlight", "emuglide", 1)
		o, err = s.Upsert(ctx, &edited)
		require.NoError(t, err)
		require.Equal(t, store.Updated, o)
		require.False(t, found("wombatlight"), "the old text is out of the index")
		require.True(t, found("emuglide"), "the new text is in")
	})
}

func TestVersionsKeepHistory(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		v1 := storetest.Articles(1, 41)[0]
		v2 := *v1
		v2.ContentHash, v2.Title, v2.FetchedAt = "hash-2", "Second title", v1.FetchedAt.Add(time.Hour)
		replay := v2 // the same version re-processed: no new version
		replay.Keywords = []string{"replayed"}
		var firstStored time.Time
		for _, a := range []*store.Article{v1, &v2, &replay} {
			if a == &replay {
				got, err := s.Get(ctx, v1.ID)
				require.NoError(t, err)
				firstStored = got.Versions[1].StoredAt
				time.Sleep(2 * time.Millisecond)
			}
			_, err := s.Upsert(ctx, a)
			require.NoError(t, err)
		}
		got, err := s.Get(ctx, v1.ID)
		require.NoError(t, err)
		require.Len(t, got.Versions, 2)
		require.Equal(t, v1.ContentHash, got.Versions[0].ContentHash)
		require.Equal(t, v1.Title, got.Versions[0].Title)
		require.Equal(t, "hash-2", got.Versions[1].ContentHash)
		require.Equal(t, "Second title", got.Versions[1].Title)
		require.True(t, got.Versions[1].FetchedAt.Equal(v2.FetchedAt.Truncate(time.Microsecond)))
		require.Equal(t, []string{"replayed"}, got.Keywords)
		require.True(t, got.Versions[1].StoredAt.Equal(firstStored), "a version keeps the time it was first stored")
		require.True(t, got.StoredAt.After(firstStored), "the article's stored_at is its last write")
		first, err := s.FirstStored(ctx)
		require.NoError(t, err)
		require.Len(t, first, 1)
		require.True(t, first[v1.ID].Stored.Equal(got.Versions[0].StoredAt), "first stored: the earliest version's time")
		require.True(t, first[v1.ID].Stored.Before(firstStored))
		require.True(t, first[v1.ID].Fetched.Equal(got.Versions[0].FetchedAt), "first fetched: the earliest version's")
	})
}

// TestVersionsKeepSupersededText: the history keeps the text of each
// version an update replaced, and none of the current one (the article
// row has it), also when both versions come in one batch and when an old
// version comes back.
func TestVersionsKeepSupersededText(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		texts := func(id string) map[string]string {
			t.Helper()
			got, err := store.VersionTexts(s, id)
			require.NoError(t, err)
			return got
		}
		arts := storetest.Articles(2, 43)
		v1 := arts[0]
		v2 := *v1
		v2.ContentHash, v2.Text, v2.FetchedAt = "hash-2", "The second text.", v1.FetchedAt.Add(time.Hour)
		_, err := s.Upsert(ctx, v1)
		require.NoError(t, err)
		require.Equal(t, map[string]string{v1.ContentHash: ""}, texts(v1.ID), "one version: its text is the article's")
		_, err = s.Upsert(ctx, &v2)
		require.NoError(t, err)
		require.Equal(t, map[string]string{v1.ContentHash: v1.Text, "hash-2": ""}, texts(v1.ID))
		replay := v2 // the same version re-processed: the same history
		replay.Keywords = []string{"replayed"}
		_, err = s.Upsert(ctx, &replay)
		require.NoError(t, err)
		require.Equal(t, map[string]string{v1.ContentHash: v1.Text, "hash-2": ""}, texts(v1.ID))
		back := *v1 // the first version comes back
		back.FetchedAt = v2.FetchedAt.Add(time.Hour)
		_, err = s.Upsert(ctx, &back)
		require.NoError(t, err)
		require.Equal(t, map[string]string{v1.ContentHash: v1.Text, "hash-2": v2.Text}, texts(v1.ID))
		got, err := s.Get(ctx, v1.ID)
		require.NoError(t, err)
		require.Equal(t, v1.Text, got.Text)

		w1 := arts[1]
		w2 := *w1
		w2.ContentHash, w2.Text, w2.FetchedAt = "hash-w2", "Another text.", w1.FetchedAt.Add(time.Hour)
		res, err := s.UpsertBatch(ctx, []*store.Article{w1, &w2})
		require.NoError(t, err)
		require.Equal(t, []store.Outcome{store.Inserted, store.Updated}, []store.Outcome{res[0].Outcome, res[1].Outcome})
		require.Equal(t, map[string]string{w1.ContentHash: w1.Text, "hash-w2": ""}, texts(w1.ID), "both versions in one batch")
		got, err = s.Get(ctx, w1.ID)
		require.NoError(t, err)
		require.Equal(t, w2.Text, got.Text)
		require.Len(t, got.Versions, 2)
	})
}

// TestMadeBefore: the store keeps what made each article and orders a
// stage's stamps by when they were first stored, so a replay can select
// what older rules made; a replay's new stamp alone updates the row.
func TestMadeBefore(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		arts := storetest.Articles(6, 43)
		ids := func(as ...*store.Article) []string {
			var out []string
			for _, a := range as {
				out = append(out, a.ID)
			}
			slices.Sort(out)
			return out
		}
		made := func(stage, version string) []string {
			got, err := s.MadeBefore(ctx, stage, version)
			require.NoError(t, err)
			slices.Sort(got)
			return got
		}
		// arts[0] before stamps were kept; then rules v1, then v2; the
		// tagger's model stays m1 throughout.
		_, err := s.Upsert(ctx, arts[0])
		require.NoError(t, err)
		for _, a := range arts[1:3] {
			a.MadeBy = store.MadeBy{Normalizer: "v1", Tagger: "m1"}
		}
		_, err = s.UpsertBatch(ctx, arts[1:3])
		require.NoError(t, err)
		time.Sleep(2 * time.Millisecond) // first-seen times a microsecond clock tells apart
		for _, a := range arts[3:] {
			a.MadeBy = store.MadeBy{Normalizer: "v2", Tagger: "m1"}
		}
		_, err = s.UpsertBatch(ctx, arts[3:])
		require.NoError(t, err)

		require.Equal(t, ids(arts[0], arts[1], arts[2]), made("normalizer", "v2"))
		require.Equal(t, ids(arts[0]), made("normalizer", "v1"))
		require.Equal(t, ids(arts[0], arts[1], arts[2], arts[3], arts[4], arts[5]), made("normalizer", "v3"),
			"a stamp not stored yet is newer than all")
		require.Equal(t, ids(arts[0]), made("tagger", "m1"))
		_, err = s.MadeBefore(ctx, "fetcher", "x")
		require.Error(t, err)

		// A replay of arts[1] under v2 makes the same content: the row
		// is updated for the new stamp, and it is no longer older.
		replayed := *arts[1]
		replayed.MadeBy.Normalizer = "v2"
		o, err := s.Upsert(ctx, &replayed)
		require.NoError(t, err)
		require.Equal(t, store.Updated, o)
		require.Equal(t, ids(arts[0], arts[2]), made("normalizer", "v2"))
		got, err := s.Get(ctx, arts[1].ID)
		require.NoError(t, err)
		require.Equal(t, store.MadeBy{Normalizer: "v2", Tagger: "m1"}, got.MadeBy)

		vs, err := s.StageVersions(ctx, "normalizer")
		require.NoError(t, err)
		require.Len(t, vs, 3)
		require.Equal(t, []string{"", "v1", "v2"}, []string{vs[0].Version, vs[1].Version, vs[2].Version})
		require.Equal(t, []int{1, 1, 4}, []int{vs[0].Articles, vs[1].Articles, vs[2].Articles})
		require.True(t, vs[0].FirstSeen.IsZero())
		require.True(t, vs[1].FirstSeen.Before(vs[2].FirstSeen))

	})
}

// tagged returns articles with entities and story links set, as the tagger
// fills them: a story of three (an original, a syndicated copy of it and a
// copy of that copy, an article derived from it) and one article alone.
func tagged() []*store.Article {
	arts := storetest.Articles(5, 42)
	port := store.Entity{Name: "Port Sainte-Aline", Type: "place", Subtype: "city", Mentions: 3, Aliases: []string{"Sainte-Aline", "the port"}}
	union := store.Entity{Name: "Dockers' Union", Type: "organisation", Mentions: 2, Aliases: []string{"the union"}}
	mayor := store.Entity{Name: "Ana Marrach", Type: "person", Mentions: 1, Aliases: []string{"Marrach"}}
	arts[0].Entities = []store.Entity{port, union}
	arts[0].Story = &store.Story{ID: "story-port"}
	arts[1].Entities = []store.Entity{port}
	arts[1].Story = &store.Story{ID: "story-port", DuplicateOf: arts[0].ID, Overlap: 0.97}
	arts[2].Entities = []store.Entity{union, mayor}
	arts[2].Story = &store.Story{ID: "story-port", DerivedFrom: arts[0].ID, Overlap: 0.41}
	arts[3].Story = &store.Story{ID: "story-port", DuplicateOf: arts[1].ID, Overlap: 0.99}
	arts[4].Entities = []store.Entity{mayor}
	return arts
}

func TestEntitiesAndStoriesRoundTrip(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		arts := tagged()
		s := open(t, arts...)
		for _, want := range tagged() {
			got, err := s.Get(ctx, want.ID)
			require.NoError(t, err)
			if want.Entities == nil {
				want.Entities = []store.Entity{}
			}
			require.Equal(t, want.Entities, got.Entities)
			require.Equal(t, want.Story, got.Story)
		}
		// A new version drops what the old one had.
		changed := *arts[0]
		changed.ContentHash, changed.FetchedAt = "h-new", changed.FetchedAt.Add(time.Hour)
		changed.Entities, changed.Story = []store.Entity{{Name: "Harbour Board", Type: "organisation", Mentions: 1, Aliases: []string{}}}, nil
		_, err := s.Upsert(ctx, &changed)
		require.NoError(t, err)
		got, err := s.Get(ctx, arts[0].ID)
		require.NoError(t, err)
		require.Equal(t, changed.Entities, got.Entities)
		require.Nil(t, got.Story)
	})
}

func TestListFiltersByEntityAndSource(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open opener) {
		arts := tagged()
		s := open(t, arts...)
		ids := func(as ...*store.Article) []string {
			var out []string
			for _, a := range as {
				out = append(out, a.ID)
			}
			return out
		}
		tests := []struct {
			q    store.Query
			want []string
		}{
			{store.Query{Entity: "port sainte-aline"}, ids(arts[0], arts[1])},
			{store.Query{Entity: "DOCKERS' UNION"}, ids(arts[0], arts[2])},
			{store.Query{Entity: "Ana Marrach", Source: arts[4].Source}, ids(arts[4])},
			{store.Query{Entity: "Marrach"}, nil}, // an alias is not the name
			{store.Query{Source: arts[1].Source}, ids(arts[1])},
			{store.Query{Source: "nowhere.example"}, nil},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%+v", tt.q), func(t *testing.T) {
				q := tt.q
				q.Limit = 1 // through the cursor
				require.ElementsMatch(t, tt.want, listAll(t, s, q))
				var each []string
				require.NoError(t, s.EachMatching(context.Background(), tt.q, func(a *store.Article) error {
					each = append(each, a.ID)
					return nil
				}))
				require.ElementsMatch(t, tt.want, each)
			})
		}
	})
}

func TestStoryFoldsDuplicates(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		arts := tagged()
		s := open(t, arts...)
		v, err := s.Story(ctx, "story-port")
		require.NoError(t, err)
		require.Equal(t, "story-port", v.ID)
		// Oldest first: arts[2] is older than arts[0] (generated articles
		// are an hour apart, newest first).
		require.Len(t, v.Articles, 2)
		require.Equal(t, arts[2].ID, v.Articles[0].ID)
		require.Empty(t, v.Articles[0].Duplicates)
		require.Equal(t, arts[0].ID, v.Articles[1].ID)
		var dups []string
		for _, d := range v.Articles[1].Duplicates {
			dups = append(dups, d.ID)
		}
		require.ElementsMatch(t, []string{arts[1].ID, arts[3].ID}, dups, "a copy of a copy folds into the original")

		_, err = s.Story(ctx, "no-such-story")
		require.ErrorIs(t, err, store.ErrNotFound)
	})
}

func TestDeleteOlderThan(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		arts := storetest.Articles(25, 43) // an hour apart, back from Base
		for _, a := range arts {
			a.Entities = []store.Entity{{Name: "Harbour", Type: "place", Mentions: 1, Aliases: []string{}}}
			a.Story = &store.Story{ID: "s"}
		}
		s := open(t, arts...)
		cutoff := storetest.Base.Add(-10*time.Hour + time.Minute) // keeps arts[0..9]
		n, err := s.DeleteOlderThan(ctx, cutoff, 4)
		require.NoError(t, err)
		require.Equal(t, 15, n)
		left, err := s.Count(ctx)
		require.NoError(t, err)
		require.Equal(t, 10, left)
		for i, a := range arts {
			_, err := s.Get(ctx, a.ID)
			if i < 10 {
				require.NoError(t, err, i)
			} else {
				require.ErrorIs(t, err, store.ErrNotFound, i)
			}
		}
		// The dependent rows went with them.
		require.Len(t, listAll(t, s, store.Query{Entity: "harbour", Limit: 100}), 10)
		v, err := s.Story(ctx, "s")
		require.NoError(t, err)
		require.Len(t, v.Articles, 10)
		n, err = s.DeleteOlderThan(ctx, cutoff, 4)
		require.NoError(t, err)
		require.Zero(t, n)
	})
}

// TestMigrationsRunOnceUnderConcurrentOpens opens one new database from
// several goroutines at once, as replicas starting together would.
func TestMigrationsRunOnceUnderConcurrentOpens(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			dsn := "sqlite:" + filepath.Join(t.TempDir(), "news.db")
			driver, conn := "sqlite", dsn[len("sqlite:"):]
			if engine == "postgres" {
				dsn = pgtest.Database(t)
				driver, conn = "pgx", dsn
			}
			var wg sync.WaitGroup
			errs := make([]error, 4)
			for i := range errs {
				wg.Go(func() {
					s, err := store.OpenDSN(context.Background(), dsn)
					if err == nil {
						err = s.Close()
					}
					errs[i] = err
				})
			}
			wg.Wait()
			for _, err := range errs {
				require.NoError(t, err)
			}
			db, err := sql.Open(driver, conn)
			require.NoError(t, err)
			defer db.Close()
			var n, distinct int
			require.NoError(t, db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations`).Scan(&n, &distinct))
			require.Equal(t, distinct, n)
			require.Positive(t, n)
		})
	}
}

// TestQueryPlansUseIndexes checks with EXPLAIN that the API's main queries
// are served by an index rather than by reading every article.
func TestQueryPlansUseIndexes(t *testing.T) {
	queries := []struct {
		name string
		q    store.Query
		// an index each engine's plan must use
		sqlite, postgres string
	}{
		{"newest", store.Query{}, `articles_sort`, `articles_sort`},
		{"language", store.Query{Language: "de"}, `articles_language_sort`, `articles_language_sort`},
		{"source", store.Query{Source: "news1.example"}, `articles_source_sort`, `articles_source_sort`},
		{"topic", store.Query{Topic: "medtop:11000000"}, `article_topics_code|article_topics_label`, `article_topics_code|article_topics_label`},
		{"entity", store.Query{Entity: "harbour"}, `article_entities_name`, `article_entities_name`},
		{"search", store.Query{Q: "harbour"}, `articles_fts VIRTUAL TABLE INDEX`, `articles_tsv`},
		{"time range", store.Query{Since: storetest.Base.Add(-48 * time.Hour), Until: storetest.Base}, `articles_sort`, `articles_sort`},
	}
	storetest.Contract(t, func(t *testing.T, open opener) {
		s := open(t, storetest.Articles(50, 44)...)
		for _, qc := range queries {
			t.Run(qc.name, func(t *testing.T) {
				plan, err := store.ExplainList(s, qc.q)
				require.NoError(t, err)
				want := qc.sqlite
				if s.Engine() == "postgres" {
					want = qc.postgres
				}
				require.Regexp(t, regexp.MustCompile(want), plan)
				if s.Engine() == "sqlite" {
					require.NotRegexp(t, `(?m)SCAN a$`, plan, "a full scan of articles")
				}
			})
		}
	})
}

func TestSearchByPublished(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open opener) {
		arts := storetest.Articles(60, 45)
		s := open(t, arts...)
		var want []string // newest first: the generated order
		for _, a := range arts {
			if slices.Contains(words(a), "harbour") {
				want = append(want, a.ID)
			}
		}
		require.NotEmpty(t, want)
		byTime := listAll(t, s, store.Query{Q: "harbour", ByPublished: true, Limit: 4})
		wantSorted := slices.Clone(want)
		slices.SortStableFunc(wantSorted, func(x, y string) int {
			ax, ay := byID(arts, x), byID(arts, y)
			return cmp.Or(sortTime(ay).Compare(sortTime(ax)), strings.Compare(y, x))
		})
		require.Equal(t, wantSorted, byTime)
		require.ElementsMatch(t, want, listAll(t, s, store.Query{Q: "harbour", Limit: 4}))
	})
}

func byID(arts []*store.Article, id string) *store.Article {
	for _, a := range arts {
		if a.ID == id {
			return a
		}
	}
	return nil
}

func TestSources(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		arts := storetest.Articles(12, 46) // sources news0..news4.example, i%5
		s := open(t, arts...)
		stats, err := s.Sources(ctx, time.Now().Add(-time.Hour))
		require.NoError(t, err)
		require.Len(t, stats, 5)
		total := 0
		for i, st := range stats {
			want := 0
			for j := range arts {
				if arts[j].Source == st.Source {
					want++
				}
			}
			require.Equal(t, want, st.Articles, st.Source)
			require.Len(t, st.Days, 1, "all stored today")
			require.Equal(t, time.Now().UTC().Format(time.DateOnly), st.Days[0].Day)
			require.NotNil(t, st.LastStored, st.Source)
			require.WithinDuration(t, time.Now(), *st.LastStored, time.Minute)
			if i > 0 {
				require.GreaterOrEqual(t, stats[i-1].Articles, st.Articles, "busiest first")
			}
			total += st.Articles
		}
		require.Equal(t, 12, total)

		// Dead letters: of a source that stores, and of one that stores
		// nothing at all (every page an empty extraction).
		now := time.Now()
		for _, dl := range []struct{ source, stage, reason string }{
			{"news1.example", "tagger", "decode"},
			{"broken.example", "normalizer", "empty_extraction"},
			{"broken.example", "normalizer", "empty_extraction"},
			{"broken.example", "fetcher", "too_large"},
		} {
			require.NoError(t, s.CountDeadLetter(ctx, dl.source, dl.stage, dl.reason, now))
		}
		require.NoError(t, s.CountDeadLetter(ctx, "broken.example", "normalizer", "empty_extraction", now.AddDate(0, 0, -3)))
		stats, err = s.Sources(ctx, now.Add(-time.Hour))
		require.NoError(t, err)
		require.Len(t, stats, 6)
		broken := stats[slices.IndexFunc(stats, func(st store.SourceStats) bool { return st.Source == "broken.example" })]
		require.Zero(t, broken.Articles)
		require.Nil(t, broken.LastStored)
		require.Equal(t, 2, broken.EmptyExtractions, "the one three days ago is outside the period")
		require.Equal(t, []store.DeadLetterCount{{Stage: "fetcher", Reason: "too_large", Count: 1}, {Stage: "normalizer", Reason: "empty_extraction", Count: 2}}, broken.DeadLetters)
		news1 := stats[slices.IndexFunc(stats, func(st store.SourceStats) bool { return st.Source == "news1.example" })]
		require.Equal(t, []store.DeadLetterCount{{Stage: "tagger", Reason: "decode", Count: 1}}, news1.DeadLetters)
		require.Zero(t, news1.EmptyExtractions)

		stats, err = s.Sources(ctx, time.Now().Add(48*time.Hour))
		require.NoError(t, err)
		require.Empty(t, stats)
	})
}

func TestSizeGrows(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		empty, err := s.Size(ctx)
		require.NoError(t, err)
		require.Positive(t, empty)
		_, err = s.UpsertBatch(ctx, storetest.Articles(300, 47))
		require.NoError(t, err)
		full, err := s.Size(ctx)
		require.NoError(t, err)
		require.Greater(t, full, empty)
	})
}

// TestNULRoundTrips: a byline, title and text holding a NUL byte are
// stored and read back unchanged on both engines. Before, PostgreSQL
// refused them (invalid byte sequence for encoding "UTF8": 0x00).
func TestNULRoundTrips(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open opener) {
		s := open(t)
		a := *storetest.Articles(1, 50)[0]
		a.Byline = "Ana\x00Ruiz"
		a.Title = "Harbour\x00report"
		a.Text = "Ferries ran late.\x00 The harbour reopened."
		_, err := s.Upsert(t.Context(), &a)
		require.NoError(t, err)
		got, err := s.Get(t.Context(), a.ID)
		require.NoError(t, err)
		require.Equal(t, a.Byline, got.Byline)
		require.Equal(t, a.Title, got.Title)
		require.Equal(t, a.Text, got.Text)
	})
}
