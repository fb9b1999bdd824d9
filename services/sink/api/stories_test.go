package api

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/services/sink/store"
	"github.com/newsflow/newsflow/services/sink/store/storetest"
)

// storyCorpus is three articles of one story (an original, a syndicated
// copy, a derived article) with entities, and one unrelated article.
func storyCorpus() []*store.Article {
	arts := storetest.Articles(4, 50)
	port := store.Entity{Name: "Port Sainte-Aline", Type: "place", Subtype: "city", Mentions: 2, Aliases: []string{"the port"}}
	arts[0].Entities = []store.Entity{port}
	arts[0].Story = &store.Story{ID: "story-1"}
	arts[1].Entities = []store.Entity{port}
	arts[1].Story = &store.Story{ID: "story-1", DuplicateOf: arts[0].ID, Overlap: 0.95}
	arts[2].Story = &store.Story{ID: "story-1", DerivedFrom: arts[0].ID, Overlap: 0.5}
	arts[3].Entities = []store.Entity{{Name: "Mara Lenz", Type: "person", Mentions: 1, Aliases: []string{}}}
	return arts
}

func TestListEntitySourceAndSort(t *testing.T) {
	arts := storyCorpus()
	h := New(storetest.Open(t, append(corpus(), arts...)...))
	tests := []struct {
		query string
		want  []string // in order
	}{
		{"entity=port+sainte-aline", []string{arts[0].ID, arts[1].ID}},
		{"entity=MARA%20LENZ", []string{arts[3].ID}},
		{"entity=the+port", []string{}},
		{"source=" + arts[2].Source + "&entity=port+sainte-aline", []string{}},
		{"source=city.example", []string{"fixture-zurich-tram"}},
		{"q=council&until=2025-02-20&sort=published", []string{"fixture-harbour-strike", "fixture-zurich-tram", "fixture-council-budget"}},
		{"q=council&until=2025-02-20&sort=relevance", []string{"fixture-zurich-tram", "fixture-council-budget", "fixture-harbour-strike"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := do(t, h, http.MethodGet, "/api/v1/articles?limit=100&"+tt.query)
			require.Equal(t, http.StatusOK, r.status, "%s", r.body)
			require.Equal(t, tt.want, ids(decodeList(t, r).Articles))
		})
	}
}

func TestStory(t *testing.T) {
	arts := storyCorpus()
	h := New(storetest.Open(t, arts...))
	r := do(t, h, http.MethodGet, "/api/v1/stories/story-1")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var v struct {
		ID       string `json:"id"`
		Articles []struct {
			store.Article
			Duplicates []store.Article `json:"duplicates"`
		} `json:"articles"`
	}
	require.NoError(t, json.Unmarshal(r.body, &v))
	require.Equal(t, "story-1", v.ID)
	require.Len(t, v.Articles, 2, "the copy is folded")
	require.Equal(t, arts[2].ID, v.Articles[0].ID, "oldest first")
	require.Equal(t, arts[0].ID, v.Articles[1].ID)
	require.Len(t, v.Articles[1].Duplicates, 1)
	require.Equal(t, arts[1].ID, v.Articles[1].Duplicates[0].ID)
	require.Equal(t, arts[0].ID, v.Articles[1].Duplicates[0].Story.DuplicateOf)
	require.Equal(t, arts[0].ID, v.Articles[0].Story.DerivedFrom)
	require.NotNil(t, v.Articles[0].Duplicates, "duplicates is a list, even empty")

	for _, tt := range []struct {
		method, target string
		status         int
		param          string
	}{
		{http.MethodGet, "/api/v1/stories/no-such-story", http.StatusNotFound, ""},
		{http.MethodGet, "/api/v1/stories/story-1?full=true", http.StatusBadRequest, "full"},
		{http.MethodPost, "/api/v1/stories/story-1", http.StatusMethodNotAllowed, ""},
		{http.MethodGet, "/api/v1/stories/", http.StatusNotFound, ""},
	} {
		r := do(t, h, tt.method, tt.target)
		require.Equal(t, tt.status, r.status, "%s %s: %s", tt.method, tt.target, r.body)
		var e errorBody
		require.NoError(t, json.Unmarshal(r.body, &e))
		require.Equal(t, tt.param, e.Parameter)
		require.NotEmpty(t, e.Error)
	}
}

func TestGetArticleHasEntitiesStoryAndVersions(t *testing.T) {
	arts := storyCorpus()
	st := storetest.Open(t, arts...)
	v2 := *arts[1]
	v2.ContentHash, v2.FetchedAt = "second", v2.FetchedAt.Add(time.Hour)
	_, err := st.Upsert(t.Context(), &v2)
	require.NoError(t, err)
	r := do(t, New(st), http.MethodGet, "/api/v1/articles/"+arts[1].ID)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var a store.Article
	require.NoError(t, json.Unmarshal(r.body, &a))
	require.Equal(t, arts[1].Entities, a.Entities)
	require.Equal(t, arts[1].Story, a.Story)
	require.Len(t, a.Versions, 2)
	require.Equal(t, []string{arts[1].ContentHash, "second"}, []string{a.Versions[0].ContentHash, a.Versions[1].ContentHash})

	list := decodeList(t, do(t, New(st), http.MethodGet, "/api/v1/articles?limit=100"))
	for _, a := range list.Articles {
		require.Nil(t, a.Versions, "lists carry no versions")
	}
}

func TestSources(t *testing.T) {
	h := New(storetest.Open(t, storetest.Articles(7, 51)...))
	r := do(t, h, http.MethodGet, "/api/v1/sources?days=2")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var b struct {
		Since   time.Time           `json:"since"`
		Sources []store.SourceStats `json:"sources"`
	}
	require.NoError(t, json.Unmarshal(r.body, &b))
	require.Len(t, b.Sources, 5)
	require.Equal(t, 2, b.Sources[0].Articles, "news0 and news1 have two articles each")
	require.Equal(t, time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1), b.Since)

	r = do(t, h, http.MethodGet, "/api/v1/sources")
	require.Equal(t, http.StatusOK, r.status)
	for _, q := range []string{"days=0", "days=367", "days=week", "days=1&days=2", "limit=3"} {
		r := do(t, h, http.MethodGet, "/api/v1/sources?"+q)
		require.Equal(t, http.StatusBadRequest, r.status, q)
		var e errorBody
		require.NoError(t, json.Unmarshal(r.body, &e))
		require.Equal(t, strings.SplitN(q, "=", 2)[0], e.Parameter, q)
	}
}

// TestOpenAPIDescribesTheAPI checks the served description against the
// handler: every route and every list parameter is documented, and every
// documented path answers.
func TestOpenAPIDescribesTheAPI(t *testing.T) {
	rec := do(t, OpenAPI(), http.MethodGet, "/openapi.json")
	require.Equal(t, http.StatusOK, rec.status)
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			Parameters []struct {
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
			Responses map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(rec.body, &doc))
	require.True(t, strings.HasPrefix(doc.OpenAPI, "3."))
	paths := []string{"/api/v1/articles", "/api/v1/articles/{id}", "/api/v1/stories", "/api/v1/stories/{id}", "/api/v1/sources"}
	require.ElementsMatch(t, paths, slices.Collect(func(yield func(string) bool) {
		for p := range doc.Paths {
			if !yield(p) {
				return
			}
		}
	}))
	for path, params := range map[string][]string{"/api/v1/articles": listParams, "/api/v1/stories": storiesParams} {
		var documented []string
		for _, p := range doc.Paths[path]["get"].Parameters {
			documented = append(documented, p.Name)
		}
		require.ElementsMatch(t, params, documented, path)
	}
	require.Equal(t, "days", doc.Paths["/api/v1/sources"]["get"].Parameters[0].Name)
	for _, p := range paths {
		for _, code := range []string{"401", "429", "503"} { // the token, rate and load guards
			require.Contains(t, doc.Paths[p]["get"].Responses, code, "%s does not document %s", p, code)
		}
	}

	h := New(storetest.Open(t, storyCorpus()...))
	for _, p := range paths {
		target := regexp.MustCompile(`\{id\}`).ReplaceAllString(p, "x")
		r := do(t, h, http.MethodGet, target)
		code := fmt.Sprint(r.status)
		require.Contains(t, doc.Paths[p]["get"].Responses, code, "%s answered %s, undocumented", target, code)
	}
}

// TestOpenAPIArticleFields: the Article schema names every field the API
// writes for an article, so a field added to the store is documented.
func TestOpenAPIArticleFields(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(do(t, OpenAPI(), http.MethodGet, "/openapi.json").body, &doc))
	var fields []string
	at := reflect.TypeFor[store.Article]()
	for i := range at.NumField() {
		if name, _, _ := strings.Cut(at.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			fields = append(fields, name)
		}
	}
	require.ElementsMatch(t, fields, slices.Collect(maps.Keys(doc.Components.Schemas["Article"].Properties)))
}
