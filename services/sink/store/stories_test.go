package store_test

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/services/sink/store"
	"github.com/newsflow/newsflow/services/sink/store/storetest"
)

// storiesCorpus is 12 generated articles (article i published i hours
// before storetest.Base, from news{i%5}.example) in four stories; articles
// 10 and 11 belong to none.
func storiesCorpus() []*store.Article {
	arts := storetest.Articles(12, 70)
	member := map[int]string{0: "story-a", 3: "story-a", 6: "story-a", 1: "story-b", 2: "story-b", 4: "story-c",
		5: "story-d", 7: "story-d", 8: "story-d", 9: "story-d"}
	for i, id := range member {
		arts[i].Story = &store.Story{ID: id}
	}
	mara := store.Entity{Name: "Mara Lenz", Type: "person", Mentions: 1, Aliases: []string{}}
	port := store.Entity{Name: "Port Sainte-Aline", Type: "place", Mentions: 3, Aliases: []string{}}
	arts[0].Entities = []store.Entity{mara}
	arts[3].Entities = []store.Entity{mara, port}
	arts[6].Entities = []store.Entity{port}
	arts[5].Entities = []store.Entity{port}
	arts[10].Entities = []store.Entity{mara} // in no story
	return arts
}

// wantStories lists, as Stories should, the stories with an article match
// selects and at least min articles: newest article first, then id.
func wantStories(arts []*store.Article, min int, match func(i int, a *store.Article) bool) []string {
	last := map[string]time.Time{}
	count := map[string]int{}
	hit := map[string]bool{}
	for i, a := range arts {
		if a.Story == nil {
			continue
		}
		id := a.Story.ID
		count[id]++
		if t := sortTime(a); t.After(last[id]) {
			last[id] = t
		}
		hit[id] = hit[id] || match(i, a)
	}
	out := []string{}
	for id := range hit {
		if hit[id] && count[id] >= min {
			out = append(out, id)
		}
	}
	slices.SortFunc(out, func(x, y string) int {
		return cmp.Or(last[y].Compare(last[x]), strings.Compare(y, x))
	})
	return out
}

// allStories pages through Stories with q and returns the ids in order.
func allStories(t *testing.T, s *store.Store, q store.StoryQuery) []string {
	t.Helper()
	out := []string{}
	for range 100 {
		page, err := s.Stories(context.Background(), q)
		require.NoError(t, err)
		if q.Limit > 0 {
			require.LessOrEqual(t, len(page.Stories), q.Limit)
		}
		for _, st := range page.Stories {
			out = append(out, st.ID)
		}
		if page.NextCursor == "" {
			return out
		}
		q.Cursor = page.NextCursor
	}
	t.Fatal("more than 100 pages")
	return nil
}

func TestStoriesSummaries(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open opener) {
		arts := storiesCorpus()
		s := open(t, arts...)
		page, err := s.Stories(context.Background(), store.StoryQuery{})
		require.NoError(t, err)
		require.Empty(t, page.NextCursor)
		require.Len(t, page.Stories, 4)
		a := page.Stories[0]
		require.Equal(t, store.StorySummary{
			ID:             "story-a",
			Articles:       3,
			Sources:        []string{"news0.example", "news1.example", "news3.example"},
			FirstPublished: storetest.Base.Add(-6 * time.Hour),
			LastPublished:  storetest.Base,
			Headline:       arts[6].Title,
			HeadlineID:     arts[6].ID,
			TopEntities: []store.StoryEntity{
				{Name: "Port Sainte-Aline", Type: "place", Articles: 2}, // more mentions than Mara Lenz
				{Name: "Mara Lenz", Type: "person", Articles: 2},
			},
		}, normalizeSummary(a))
		c := page.Stories[2]
		require.Equal(t, "story-c", c.ID)
		require.Equal(t, 1, c.Articles)
		require.Equal(t, []store.StoryEntity{}, c.TopEntities, "a list, even empty")
		require.Equal(t, c.FirstPublished, c.LastPublished)
	})
}

// TestStorySummariesFollowEveryWrite: the summaries the unfiltered listing
// reads stay equal to what grouping the links gives (a filter that selects
// every article takes that path) through inserts, an article moved to
// another story, a changed publication time, a story emptied, and
// retention deleting old articles.
func TestStorySummariesFollowEveryWrite(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		arts := storiesCorpus()
		s := open(t, arts...)
		same := func(what string) {
			t.Helper()
			all, err := s.Stories(ctx, store.StoryQuery{Limit: 100})
			require.NoError(t, err)
			grouped, err := s.Stories(ctx, store.StoryQuery{Limit: 100, Since: time.Unix(0, 0)})
			require.NoError(t, err)
			require.Equal(t, grouped.Stories, all.Stories, what)
			for _, min := range []int{2, 3} {
				all, err := s.Stories(ctx, store.StoryQuery{Limit: 2, MinArticles: min})
				require.NoError(t, err)
				grouped, err := s.Stories(ctx, store.StoryQuery{Limit: 2, MinArticles: min, Since: time.Unix(0, 0)})
				require.NoError(t, err)
				require.Equal(t, grouped, all, "%s, at least %d, first page and its cursor", what, min)
			}
		}
		same("loaded")

		moved := *arts[3] // story-a → story-b, newer, another version
		moved.Story = &store.Story{ID: "story-b"}
		moved.ContentHash += "-2"
		moved.FetchedAt = moved.FetchedAt.Add(time.Hour)
		p := storetest.Base.Add(2 * time.Hour)
		moved.Published = &p
		_, err := s.Upsert(ctx, &moved)
		require.NoError(t, err)
		same("an article moved to another story, its time changed")

		lone := *arts[4] // story-c's only article leaves every story
		lone.Story = nil
		lone.ContentHash += "-2"
		lone.FetchedAt = lone.FetchedAt.Add(time.Hour)
		_, err = s.Upsert(ctx, &lone)
		require.NoError(t, err)
		page, err := s.Stories(ctx, store.StoryQuery{Limit: 100})
		require.NoError(t, err)
		for _, st := range page.Stories {
			require.NotEqual(t, "story-c", st.ID, "an emptied story is gone")
		}
		same("a story emptied")

		// A time changed by hand, links untouched (upserts re-link).
		require.NoError(t, store.Exec(s, `UPDATE articles SET sort_at = ? WHERE id = ?`, storetest.Base.Add(3*time.Hour).UnixMicro(), arts[5].ID))
		same("a time changed in place")

		n, err := s.DeleteOlderThan(ctx, storetest.Base.Add(-5*time.Hour), 2)
		require.NoError(t, err)
		require.Positive(t, n)
		same("retention deleted old articles")
	})
}

func normalizeSummary(st store.StorySummary) store.StorySummary {
	st.FirstPublished, st.LastPublished = st.FirstPublished.UTC(), st.LastPublished.UTC()
	return st
}

func TestStoriesFiltersAndPages(t *testing.T) {
	arts := storiesCorpus()
	politics := storetest.Topics[2]
	tests := []struct {
		name  string
		q     store.StoryQuery
		min   int
		match func(i int, a *store.Article) bool
	}{
		{"all", store.StoryQuery{}, 1, func(int, *store.Article) bool { return true }},
		{"min articles 3", store.StoryQuery{MinArticles: 3}, 3, func(int, *store.Article) bool { return true }},
		{"min articles 5", store.StoryQuery{MinArticles: 5}, 5, func(int, *store.Article) bool { return true }},
		{"entity", store.StoryQuery{Entity: "MARA LENZ"}, 1, func(i int, _ *store.Article) bool { return i == 0 || i == 3 }},
		{"entity and min", store.StoryQuery{Entity: "port sainte-aline", MinArticles: 4}, 4, func(i int, _ *store.Article) bool { return i == 3 || i == 5 || i == 6 }},
		{"source", store.StoryQuery{Source: "news2.example"}, 1, func(i int, _ *store.Article) bool { return i%5 == 2 }},
		{"topic", store.StoryQuery{Topic: "politics"}, 1, func(_ int, a *store.Article) bool {
			return slices.ContainsFunc(a.Topics, func(t store.Topic) bool { return t.Code == politics.Code })
		}},
		{"since and until", store.StoryQuery{Since: storetest.Base.Add(-5 * time.Hour), Until: storetest.Base.Add(-3 * time.Hour)}, 1,
			func(i int, _ *store.Article) bool { return i == 4 || i == 5 }},
		{"since", store.StoryQuery{Since: storetest.Base.Add(-2 * time.Hour)}, 1, func(i int, _ *store.Article) bool { return i <= 2 }},
		{"until", store.StoryQuery{Until: storetest.Base.Add(-7 * time.Hour)}, 1, func(i int, _ *store.Article) bool { return i >= 8 }},
		{"nothing", store.StoryQuery{Entity: "nobody"}, 1, func(int, *store.Article) bool { return false }},
	}
	storetest.Contract(t, func(t *testing.T, open opener) {
		s := open(t, arts...)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				want := wantStories(arts, tt.min, tt.match)
				require.Equal(t, want, allStories(t, s, tt.q))
				q := tt.q
				q.Limit = 1
				require.Equal(t, want, allStories(t, s, q), "one story a page")
			})
		}
		require.NotEmpty(t, wantStories(arts, 1, func(_ int, a *store.Article) bool {
			return slices.ContainsFunc(a.Topics, func(t store.Topic) bool { return t.Code == politics.Code })
		}), "the topic case must select something")
	})
}

func TestStoriesRejectBadCursors(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t, storiesCorpus()...)
		articles, err := s.List(ctx, store.Query{Limit: 1})
		require.NoError(t, err)
		for _, c := range []string{"not base64!", "e30", articles.NextCursor} {
			_, err := s.Stories(ctx, store.StoryQuery{Cursor: c})
			require.ErrorIs(t, err, store.ErrInvalidCursor, c)
		}
		stories, err := s.Stories(ctx, store.StoryQuery{Limit: 1})
		require.NoError(t, err)
		_, err = s.List(ctx, store.Query{Cursor: stories.NextCursor})
		require.ErrorIs(t, err, store.ErrInvalidCursor, "a story cursor is no article cursor")
	})
}

// TestStoriesPlanUsesIndexes checks with EXPLAIN that the stories listing
// reaches its filtered articles and their stories through indexes.
func TestStoriesPlanUsesIndexes(t *testing.T) {
	queries := []struct {
		name string
		q    store.StoryQuery
		want []string // indexes the plan must use, on both engines
	}{
		{"all", store.StoryQuery{}, []string{`story_summaries_recent`}},
		{"entity", store.StoryQuery{Entity: "mara lenz"}, []string{`article_entities_name`, `article_stories_story`}},
		{"topic", store.StoryQuery{Topic: "medtop:11000000"}, []string{`article_topics_code|article_topics_label`, `article_stories_story`}},
		{"source", store.StoryQuery{Source: "news1.example", MinArticles: 2}, []string{`articles_source_sort`, `article_stories_story`}},
		{"since", store.StoryQuery{Since: storetest.Base.Add(-48 * time.Hour)}, []string{`articles_sort`, `article_stories_story`}},
	}
	storetest.Contract(t, func(t *testing.T, open opener) {
		s := open(t, storiesCorpus()...)
		for _, qc := range queries {
			t.Run(qc.name, func(t *testing.T) {
				plan, err := store.ExplainStories(s, qc.q)
				require.NoError(t, err)
				for _, want := range qc.want {
					require.Regexp(t, regexp.MustCompile(want), plan)
				}
				if s.Engine() == "sqlite" {
					require.NotRegexp(t, `(?m)SCAN (a|o)$`, plan, "a full scan of articles")
				}
			})
		}
	})
}

// TestStorySummariesUnderRandomWrites: through random links, moves, unlinks,
// time changes and retention, the summaries (kept incrementally on SQLite,
// refreshed a batch on PostgreSQL) stay equal to grouping the links.
func TestStorySummariesUnderRandomWrites(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		rng := rand.New(rand.NewPCG(7, 8))
		arts := storetest.Articles(40, 62)
		version := map[string]int{}
		for step := range 120 {
			var batch []*store.Article
			for range 1 + rng.IntN(5) {
				a := *arts[rng.IntN(len(arts))]
				version[a.ID]++
				a.ContentHash = fmt.Sprintf("%s-%d", a.ContentHash, version[a.ID])
				a.FetchedAt = a.FetchedAt.Add(time.Duration(version[a.ID]) * time.Minute)
				if rng.IntN(3) > 0 {
					p := storetest.Base.Add(-time.Duration(rng.IntN(60)) * time.Hour)
					a.Published = &p
				}
				if k := rng.IntN(5); k < 4 {
					a.Story = &store.Story{ID: fmt.Sprintf("story-%d", k)}
				}
				batch = append(batch, &a)
			}
			_, err := s.UpsertBatch(ctx, batch)
			require.NoError(t, err)
			if step%40 == 39 {
				_, err := s.DeleteOlderThan(ctx, storetest.Base.Add(-time.Duration(50-step/10)*time.Hour), 3)
				require.NoError(t, err)
			}
			all, err := s.Stories(ctx, store.StoryQuery{Limit: 100})
			require.NoError(t, err)
			grouped, err := s.Stories(ctx, store.StoryQuery{Limit: 100, Since: time.Unix(0, 0)})
			require.NoError(t, err)
			require.Equal(t, grouped.Stories, all.Stories, "step %d", step)
		}
	})
}
