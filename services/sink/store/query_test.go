package store_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/services/sink/store"
	"github.com/newsflow/newsflow/services/sink/store/storetest"
)

// listAll follows NextCursor to the end and returns the ids in order.
func listAll(t *testing.T, s *store.Store, q store.Query) []string {
	t.Helper()
	var ids []string
	for range 10_000 {
		page, err := s.List(context.Background(), q)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page.Articles), max(q.Limit, 1))
		for _, a := range page.Articles {
			ids = append(ids, a.ID)
		}
		if page.NextCursor == "" {
			return ids
		}
		require.NotEmpty(t, page.Articles, "a cursor after an empty page")
		q.Cursor = page.NextCursor
	}
	t.Fatal("pagination does not end")
	return nil
}

func sortTime(a *store.Article) time.Time {
	if a.Published != nil {
		return *a.Published
	}
	return a.FetchedAt
}

func hasTopic(code, label string) func(*store.Article) bool {
	return func(a *store.Article) bool {
		for _, tp := range a.Topics {
			if tp.Code == code || strings.EqualFold(tp.Label, label) {
				return true
			}
		}
		return false
	}
}

// TestListFiltersAndOrder checks every filter against a filter written
// independently in Go over the generated articles, at several page sizes.
func TestListFiltersAndOrder(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open func(testing.TB, ...*store.Article) *store.Store) {
		arts := storetest.Articles(60, 11)
		rare := store.Topic{Code: "medtop:06000000", Label: "environment", Score: 0.3, Level: 1}
		arts[5].Topics = append(arts[5].Topics, rare)
		arts[40].Topics = append(arts[40].Topics, rare)
		for i, a := range arts {
			if i%2 == 0 {
				a.Entities = append(a.Entities, store.Entity{Name: "Mara Lenz", Type: "person", Mentions: 1, Aliases: []string{}})
			}
			if i == 7 || i == 33 {
				a.Entities = append(a.Entities, store.Entity{Name: "Port Sainte-Aline", Type: "place", Mentions: 2, Aliases: []string{}})
			}
		}
		s := open(t, arts...)
		// Both plans for topic and entity filters are exercised below.
		for topic, want := range map[string]bool{"politics": true, "environment": false} {
			common, err := store.CommonTopic(s, topic, 4)
			require.NoError(t, err)
			require.Equal(t, want, common, topic)
		}
		for entity, want := range map[string]bool{"mara lenz": true, "port sainte-aline": false} {
			common, err := store.CommonEntity(s, entity, 4)
			require.NoError(t, err)
			require.Equal(t, want, common, entity)
		}
		hasEntity := func(name string) func(*store.Article) bool {
			return func(a *store.Article) bool {
				return slices.ContainsFunc(a.Entities, func(e store.Entity) bool { return e.Name == name })
			}
		}
		base := storetest.Base
		all := func(*store.Article) bool { return true }
		tests := []struct {
			name string
			q    store.Query
			keep func(*store.Article) bool
		}{
			{"everything", store.Query{}, all},
			{"language", store.Query{Language: "DE"}, func(a *store.Article) bool { return a.Language == "de" }},
			{"topic code", store.Query{Topic: "medtop:11000000"}, hasTopic("medtop:11000000", "")},
			{"topic bare code", store.Query{Topic: "11000000"}, hasTopic("medtop:11000000", "")},
			{"topic upper-case code", store.Query{Topic: "MEDTOP:15000000"}, hasTopic("medtop:15000000", "")},
			{"topic label any case", store.Query{Topic: "Science And Technology"}, hasTopic("", "science and technology")},
			{"topic level 2", store.Query{Topic: "soccer"}, hasTopic("medtop:20001065", "")},
			{"rare topic", store.Query{Topic: "Environment"}, hasTopic("medtop:06000000", "")},
			{"unknown topic", store.Query{Topic: "astrology"}, func(*store.Article) bool { return false }},
			{"common entity", store.Query{Entity: "MARA LENZ"}, hasEntity("Mara Lenz")},
			{"rare entity", store.Query{Entity: "port sainte-aline"}, hasEntity("Port Sainte-Aline")},
			{"unknown entity", store.Query{Entity: "nobody"}, func(*store.Article) bool { return false }},
			{"common entity and topic", store.Query{Entity: "mara lenz", Topic: "politics"}, func(a *store.Article) bool {
				return hasEntity("Mara Lenz")(a) && hasTopic("", "politics")(a)
			}},
			{"since inclusive", store.Query{Since: base.Add(-30 * time.Hour)}, func(a *store.Article) bool {
				return !sortTime(a).Before(base.Add(-30 * time.Hour))
			}},
			{"until exclusive", store.Query{Until: base.Add(-30 * time.Hour)}, func(a *store.Article) bool {
				return sortTime(a).Before(base.Add(-30 * time.Hour))
			}},
			{"everything at once", store.Query{Language: "en", Topic: "politics", Since: base.Add(-90 * time.Hour), Until: base.Add(-10 * time.Hour)},
				func(a *store.Article) bool {
					at := sortTime(a)
					return a.Language == "en" && hasTopic("", "politics")(a) &&
						!at.Before(base.Add(-90*time.Hour)) && at.Before(base.Add(-10*time.Hour))
				}},
		}
		for _, tt := range tests {
			var want []*store.Article
			for _, a := range arts {
				if tt.keep(a) {
					want = append(want, a)
				}
			}
			// Newest first, ties by id descending.
			slices.SortFunc(want, func(a, b *store.Article) int {
				return cmp.Or(sortTime(b).Compare(sortTime(a)), strings.Compare(b.ID, a.ID))
			})
			wantIDs := []string{}
			for _, a := range want {
				wantIDs = append(wantIDs, a.ID)
			}
			for _, limit := range []int{4, 1000} {
				t.Run(fmt.Sprintf("%s/limit %d", tt.name, limit), func(t *testing.T) {
					q := tt.q
					q.Limit = limit
					got := listAll(t, s, q)
					require.Equal(t, wantIDs, append([]string{}, got...)) // got may be nil
				})
			}
		}
	})
}

func TestListOrdersTiesByID(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open func(testing.TB, ...*store.Article) *store.Store) {
		arts := storetest.Articles(6, 12)
		for _, a := range arts {
			p := storetest.Base
			a.Published = &p
		}
		s := open(t, arts...)
		got := listAll(t, s, store.Query{Limit: 4})
		require.Len(t, got, 6)
		require.IsDecreasing(t, got)
	})
}

// words returns the lower-cased words of the article's title and text.
func words(a *store.Article) []string {
	return strings.FieldsFunc(strings.ToLower(a.Title+" "+a.Text), func(r rune) bool {
		return r == ' ' || r == '.'
	})
}

func TestListSearchFindsExactlyTheMatches(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open func(testing.TB, ...*store.Article) *store.Store) {
		arts := storetest.Articles(100, 13)
		s := open(t, arts...)
		tests := []struct {
			q     string
			match func(w []string) bool
		}{
			{"river", func(w []string) bool { return slices.Contains(w, "river") }},
			{"RIVER Goal", func(w []string) bool { return slices.Contains(w, "river") && slices.Contains(w, "goal") }},
			{"sta*", func(w []string) bool {
				return slices.ContainsFunc(w, func(x string) bool { return strings.HasPrefix(x, "sta") })
			}},
			{"nowhere", func([]string) bool { return false }},
		}
		for _, tt := range tests {
			t.Run(tt.q, func(t *testing.T) {
				var want []string
				for _, a := range arts {
					if tt.match(words(a)) {
						want = append(want, a.ID)
					}
				}
				got := listAll(t, s, store.Query{Q: tt.q, Limit: 7})
				require.ElementsMatch(t, want, got)
				require.Len(t, got, len(want), "an article repeated across pages")
			})
		}
	})
}

func TestListSearchFixtures(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open func(testing.TB, ...*store.Article) *store.Store) {
		s := open(t, storetest.Fixtures()...)
		tests := []struct {
			name string
			q    store.Query
			want []string // in order
		}{
			{"title match ranks first", store.Query{Q: "council"},
				[]string{"fixture-zurich-tram", "fixture-council-budget", "fixture-harbour-strike"}},
			{"diacritics folded", store.Query{Q: "zurich"}, []string{"fixture-zurich-tram"}},
			{"diacritics in query", store.Query{Q: "ÉLECTRICITÉ"}, []string{"fixture-electricite"}},
			{"operators are words", store.Query{Q: "AND OR NOT"}, []string{"fixture-operators"}},
			{"quotes and column syntax", store.Query{Q: `"edge title:foo`}, []string{"fixture-operators"}},
			{"NEAR is a word", store.Query{Q: "NEAR( edge"}, []string{"fixture-operators"}},
			{"punctuation only", store.Query{Q: `^ ( - "`}, nil},
			{"blank text lists everything by time", store.Query{Q: "   ", Limit: 2},
				[]string{"fixture-electricite", "fixture-harbour-strike"}},
			{"search with topic", store.Query{Q: "council", Topic: "economy, business and finance"}, []string{"fixture-harbour-strike"}},
			{"search with language", store.Query{Q: "council", Language: "de"}, []string{"fixture-zurich-tram"}},
			{"search with time", store.Query{Q: "council", Until: time.Date(2025, 2, 10, 0, 0, 0, 0, time.UTC)}, []string{"fixture-council-budget"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				page, err := s.List(context.Background(), tt.q)
				require.NoError(t, err)
				var got []string
				for _, a := range page.Articles {
					got = append(got, a.ID)
					require.NotEmpty(t, a.Snippet)
				}
				require.Equal(t, tt.want, got)
			})
		}
	})
}

func TestListSnippetShowsTheMatch(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open func(testing.TB, ...*store.Article) *store.Store) {
		s := open(t, storetest.Fixtures()...)
		page, err := s.List(context.Background(), store.Query{Q: "audit"})
		require.NoError(t, err)
		require.Len(t, page.Articles, 1)
		require.Contains(t, page.Articles[0].Snippet, "audit")
		require.True(t, strings.HasPrefix(page.Articles[0].Snippet, "…"), page.Articles[0].Snippet)
	})
}

func TestListRejectsBadCursors(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open func(testing.TB, ...*store.Article) *store.Store) {
		ctx := context.Background()
		s := open(t, storetest.Articles(10, 14)...)
		timePage, err := s.List(ctx, store.Query{Limit: 2})
		require.NoError(t, err)
		rankPage, err := s.List(ctx, store.Query{Q: "election", Limit: 1})
		require.NoError(t, err)
		require.NotEmpty(t, rankPage.NextCursor, "the generated articles should mention elections more than once")

		tests := []struct {
			name string
			q    store.Query
		}{
			{"not base64", store.Query{Cursor: "!!!"}},
			{"not JSON", store.Query{Cursor: "bm90IGpzb24"}},
			{"no id", store.Query{Cursor: "eyJtIjoidCJ9"}}, // {"m":"t"}
			{"time cursor on a search", store.Query{Q: "election", Cursor: timePage.NextCursor}},
			{"search cursor on a listing", store.Query{Cursor: rankPage.NextCursor}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.List(ctx, tt.q)
				require.ErrorIs(t, err, store.ErrInvalidCursor)
			})
		}
	})
}

// TestListCursorSurvivesInserts pages through a listing while newer and
// older articles arrive: nothing repeats, nothing already due is skipped.
func TestListCursorSurvivesInserts(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open func(testing.TB, ...*store.Article) *store.Store) {
		ctx := context.Background()
		arts := storetest.Articles(32, 15)
		s := open(t, arts[1:31]...)

		q := store.Query{Limit: 10}
		seen := map[string]bool{}
		for i := 0; ; i++ {
			page, err := s.List(ctx, q)
			require.NoError(t, err)
			for _, a := range page.Articles {
				require.False(t, seen[a.ID], "%s repeated", a.ID)
				seen[a.ID] = true
			}
			if i == 0 { // arts[0] is newer than everything listed, arts[31] older
				for _, a := range []*store.Article{arts[0], arts[31]} {
					_, err := s.Upsert(ctx, a)
					require.NoError(t, err)
				}
			}
			if page.NextCursor == "" {
				break
			}
			q.Cursor = page.NextCursor
		}
		require.Len(t, seen, 31)
		require.False(t, seen[arts[0].ID])
		require.True(t, seen[arts[31].ID])
	})
}

func TestListLimits(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, open func(testing.TB, ...*store.Article) *store.Store) {
		s := open(t, storetest.Articles(25, 16)...)
		for _, tt := range []struct{ limit, want int }{{0, store.DefaultLimit}, {-5, store.DefaultLimit}, {3, 3}, {5000, 25}} {
			page, err := s.List(context.Background(), store.Query{Limit: tt.limit})
			require.NoError(t, err)
			require.Len(t, page.Articles, tt.want, "limit %d", tt.limit)
		}
	})
}

// FuzzListQuery: no user text may make a search fail.
func FuzzListQuery(f *testing.F) {
	for _, seed := range []string{"council", `"`, `""`, "*", "a*b", "NEAR(a b)", "title:x", "-x", "^x", "x OR",
		"(", ")", "\x00", "\xff\xfe", "é*", "AND", "a:b:c", "{title body}:x", "+", "'", `\`} {
		f.Add(seed)
	}
	s := storetest.Open(f, storetest.Fixtures()...)
	f.Fuzz(func(t *testing.T, q string) {
		_, err := s.List(context.Background(), store.Query{Q: q, Topic: q, Limit: 3})
		require.NoError(t, err)
	})
}
