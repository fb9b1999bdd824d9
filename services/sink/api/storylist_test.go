package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/services/sink/store"
	"github.com/newsflow/newsflow/services/sink/store/storetest"
)

// storyListCorpus is storyCorpus (story-1: three articles, 50 hours apart
// at most) plus story-2, two recent articles of one more source, and
// story-3, one old article.
func storyListCorpus() []*store.Article {
	arts := storyCorpus()
	more := storetest.Articles(12, 52)
	more[0].Story = &store.Story{ID: "story-2"}
	more[5].Story = &store.Story{ID: "story-2"}
	more[5].Entities = []store.Entity{{Name: "Mara Lenz", Type: "person", Mentions: 4, Aliases: []string{}}}
	more[11].Story = &store.Story{ID: "story-3"}
	// Generated ids depend only on the index: keep those of storyCorpus.
	for _, a := range []*store.Article{more[0], more[5], more[11]} {
		a.ID += "-more"
		a.Source = "more.example"
	}
	return append(arts, more[0], more[5], more[11])
}

type storiesBody struct {
	Stories    []store.StorySummary `json:"stories"`
	NextCursor *string              `json:"next_cursor"`
}

func decodeStories(t *testing.T, r response) storiesBody {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var b storiesBody
	require.NoError(t, json.Unmarshal(r.body, &b))
	require.NotNil(t, b.Stories, "stories must be a list, even empty")
	require.NotNil(t, b.NextCursor, "next_cursor must be present")
	return b
}

func storyIDs(b storiesBody) []string {
	out := []string{}
	for _, s := range b.Stories {
		out = append(out, s.ID)
	}
	return out
}

func TestStoriesList(t *testing.T) {
	arts := storyListCorpus()
	// Both corpora start at storetest.Base and go back an hour an article.
	base := storetest.Base.Format(time.RFC3339)
	tests := []struct {
		query string
		want  []string // in order
	}{
		{"", []string{"story-2", "story-1", "story-3"}},
		{"min_articles=2", []string{"story-2", "story-1"}},
		{"min_articles=3", []string{"story-1"}},
		{"min_articles=1000", []string{}},
		{"entity=mara+lenz", []string{"story-2"}},
		{"entity=PORT%20SAINTE-ALINE", []string{"story-1"}},
		{"entity=nobody", []string{}},
		{"source=more.example", []string{"story-2", "story-3"}},
		{"source=" + arts[2].Source, []string{"story-1"}},
		{"topic=" + url.QueryEscape(arts[2].Topics[0].Label), nil}, // computed below
		{"since=" + url.QueryEscape(storetest.Base.Add(-3*time.Hour).Format(time.RFC3339)), []string{"story-2", "story-1"}},
		{"until=" + url.QueryEscape(storetest.Base.Add(-10*time.Hour).Format(time.RFC3339)), []string{"story-3"}},
		{"since=" + url.QueryEscape(storetest.Base.Add(-6*time.Hour).Format(time.RFC3339)) + "&until=" + url.QueryEscape(base), []string{"story-2", "story-1"}},
		{"since=2030-01-01", []string{}},
		{"limit=1", []string{"story-2"}},
	}
	storetest.Contract(t, func(t *testing.T, open func(testing.TB, ...*store.Article) *store.Store) {
		h := New(open(t, arts...))
		for _, tt := range tests {
			t.Run(tt.query, func(t *testing.T) {
				want := tt.want
				if want == nil { // a topic: the stories with an article of that topic
					want = []string{}
					for _, id := range []string{"story-2", "story-1", "story-3"} {
						if storyHasTopic(arts, id, arts[2].Topics[0].Code) {
							want = append(want, id)
						}
					}
					require.Contains(t, want, "story-1")
				}
				b := decodeStories(t, do(t, h, http.MethodGet, "/api/v1/stories?"+tt.query))
				require.Equal(t, want, storyIDs(b))
			})
		}

		b := decodeStories(t, do(t, h, http.MethodGet, "/api/v1/stories?min_articles=3"))
		one := b.Stories[0]
		require.Equal(t, 3, one.Articles)
		require.Equal(t, arts[2].Title, one.Headline, "the oldest article's title")
		require.Equal(t, arts[2].ID, one.HeadlineID)
		require.Equal(t, storetest.Base.Add(-2*time.Hour), one.FirstPublished.UTC())
		require.Equal(t, storetest.Base, one.LastPublished.UTC())
		require.Equal(t, []string{arts[0].Source, arts[1].Source, arts[2].Source}, one.Sources)
		require.Equal(t, []store.StoryEntity{{Name: "Port Sainte-Aline", Type: "place", Articles: 2}}, one.TopEntities)

		// Paging one story at a time visits them all, in order, once.
		var got []string
		next := ""
		for range 10 {
			b := decodeStories(t, do(t, h, http.MethodGet, "/api/v1/stories?limit=1&cursor="+url.QueryEscape(next)))
			got = append(got, storyIDs(b)...)
			if next = *b.NextCursor; next == "" {
				break
			}
		}
		require.Equal(t, []string{"story-2", "story-1", "story-3"}, got)

		// A cursor from the articles listing is refused by name.
		list := decodeList(t, do(t, h, http.MethodGet, "/api/v1/articles?limit=1"))
		r := do(t, h, http.MethodGet, "/api/v1/stories?cursor="+url.QueryEscape(*list.NextCursor))
		require.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
		require.Contains(t, string(r.body), `"parameter":"cursor"`)
	})
}

func storyHasTopic(arts []*store.Article, story, code string) bool {
	for _, a := range arts {
		if a.Story == nil || a.Story.ID != story {
			continue
		}
		for _, tp := range a.Topics {
			if tp.Code == code {
				return true
			}
		}
	}
	return false
}

func TestStoriesListRejectsBadParameters(t *testing.T) {
	tests := append([]badQuery{
		{"min_articles=0", "min_articles"},
		{"min_articles=-1", "min_articles"},
		{"min_articles=two", "min_articles"},
		{"min_articles=1001", "min_articles"},
		{"min_articles=1&min_articles=2", "min_articles"},
		{"q=harbour", "q"},
		{"language=en", "language"},
		{"sort=published", "sort"},
		{"full=true", "full"},
	}, badFilterAndPage...)
	storetest.Contract(t, func(t *testing.T, open func(testing.TB, ...*store.Article) *store.Store) {
		h := New(open(t, storyListCorpus()...))
		for _, tt := range tests {
			t.Run(tt.query[:min(len(tt.query), 40)], func(t *testing.T) {
				r := do(t, h, http.MethodGet, "/api/v1/stories?"+tt.query)
				require.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
				var e errorBody
				require.NoError(t, json.Unmarshal(r.body, &e))
				require.Equal(t, tt.param, e.Parameter)
				require.NotEmpty(t, e.Error)
			})
		}
		r := do(t, h, http.MethodPost, "/api/v1/stories")
		require.Equal(t, http.StatusMethodNotAllowed, r.status)
		require.Equal(t, "GET, HEAD", r.header.Get("Allow"))
	})
}
