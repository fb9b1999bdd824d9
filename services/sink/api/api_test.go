package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/services/sink/store"
	"github.com/newsflow/newsflow/services/sink/store/storetest"
)

// corpus is the hand-written fixtures (February 2025) plus generated
// articles (the day before storetest.Base, 1 March 2025).
func corpus() []*store.Article {
	return append(storetest.Fixtures(), storetest.Articles(30, 21)...)
}

func newTestHandler(t *testing.T) http.Handler {
	return New(storetest.Open(t, corpus()...))
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, h http.Handler, method, target string) response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	res := rec.Result()
	if method != http.MethodHead {
		require.Equal(t, "application/json; charset=utf-8", res.Header.Get("Content-Type"), target)
		require.True(t, json.Valid(rec.Body.Bytes()), "%s: %s", target, rec.Body)
	}
	return response{status: res.StatusCode, header: res.Header, body: rec.Body.Bytes()}
}

type listBody struct {
	Articles   []store.Article `json:"articles"`
	NextCursor *string         `json:"next_cursor"`
}

func decodeList(t *testing.T, r response) listBody {
	t.Helper()
	var b listBody
	require.NoError(t, json.Unmarshal(r.body, &b))
	require.NotNil(t, b.Articles, "articles must be a list, even empty")
	require.NotNil(t, b.NextCursor, "next_cursor must be present")
	return b
}

func ids(arts []store.Article) []string {
	out := []string{}
	for _, a := range arts {
		out = append(out, a.ID)
	}
	return out
}

func sortTime(a store.Article) time.Time {
	if a.Published != nil {
		return *a.Published
	}
	return a.FetchedAt
}

func TestListParameters(t *testing.T) {
	h := newTestHandler(t)
	total := len(corpus())
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	tests := []struct {
		name  string
		query string
		check func(t *testing.T, b listBody)
	}{
		{"defaults", "", func(t *testing.T, b listBody) {
			require.Len(t, b.Articles, defaultLimit)
			require.NotEmpty(t, *b.NextCursor)
			for _, a := range b.Articles {
				require.Empty(t, a.Text, "list leaves text out")
				require.NotEmpty(t, a.Snippet)
			}
		}},
		{"empty values are absent", "q=&limit=&topic=", func(t *testing.T, b listBody) {
			require.Len(t, b.Articles, defaultLimit)
		}},
		{"limit", "limit=5", func(t *testing.T, b listBody) { require.Len(t, b.Articles, 5) }},
		{"limit max", "limit=100", func(t *testing.T, b listBody) {
			require.Len(t, b.Articles, total)
			require.Empty(t, *b.NextCursor)
		}},
		{"full", "full=true&limit=3", func(t *testing.T, b listBody) {
			for _, a := range b.Articles {
				require.NotEmpty(t, a.Text)
				require.Empty(t, a.Snippet)
			}
		}},
		{"full false", "full=0&limit=3", func(t *testing.T, b listBody) {
			for _, a := range b.Articles {
				require.Empty(t, a.Text)
			}
		}},
		{"q by relevance", "q=council&until=2025-02-20", func(t *testing.T, b listBody) {
			require.Equal(t, []string{"fixture-zurich-tram", "fixture-council-budget", "fixture-harbour-strike"}, ids(b.Articles))
			require.Contains(t, strings.ToLower(b.Articles[1].Snippet), "council")
		}},
		{"q of 500 characters", "q=" + strings.Repeat("é", maxQ), func(t *testing.T, b listBody) {
			require.Empty(t, b.Articles)
		}},
		{"q with FTS syntax", "q=" + url.QueryEscape(`"edge AND (`), func(t *testing.T, b listBody) {
			require.Equal(t, []string{"fixture-operators"}, ids(b.Articles))
		}},
		{"topic code", "topic=11000000&limit=100", func(t *testing.T, b listBody) {
			require.NotEmpty(t, b.Articles)
			for _, a := range b.Articles {
				require.True(t, slices.ContainsFunc(a.Topics, func(tp store.Topic) bool { return tp.Code == "medtop:11000000" }), a.ID)
			}
		}},
		{"topic label", "topic=Economy,+Business+and+Finance&q=strike", func(t *testing.T, b listBody) {
			require.Equal(t, []string{"fixture-harbour-strike"}, ids(b.Articles))
		}},
		{"language", "language=fr&limit=100", func(t *testing.T, b listBody) {
			require.NotEmpty(t, b.Articles)
			for _, a := range b.Articles {
				require.Equal(t, "fr", a.Language)
			}
		}},
		{"language with region", "language=pt-BR", func(t *testing.T, b listBody) { require.Empty(t, b.Articles) }},
		{"since date", "since=2025-02-28&limit=100", func(t *testing.T, b listBody) {
			require.Len(t, b.Articles, 30)
			for _, a := range b.Articles {
				require.False(t, sortTime(a).Before(day("2025-02-28")), a.ID)
			}
		}},
		{"until date includes the day", "until=2025-02-09", func(t *testing.T, b listBody) {
			require.Equal(t, []string{"fixture-council-budget", "fixture-operators"}, ids(b.Articles))
		}},
		{"since and until the same day", "since=2025-02-10&until=2025-02-10", func(t *testing.T, b listBody) {
			require.Equal(t, []string{"fixture-zurich-tram"}, ids(b.Articles))
		}},
		{"RFC 3339 with offset", "since=" + url.QueryEscape("2025-02-11T20:00:00+01:00") + "&until=2025-02-11T19:00:01Z", func(t *testing.T, b listBody) {
			require.Equal(t, []string{"fixture-harbour-strike"}, ids(b.Articles))
		}},
		{"published unknown falls back to fetched", "since=2025-02-12&until=2025-02-12", func(t *testing.T, b listBody) {
			require.Equal(t, []string{"fixture-electricite"}, ids(b.Articles))
			require.Nil(t, b.Articles[0].Published)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, h, http.MethodGet, "/api/v1/articles?"+tt.query)
			require.Equal(t, http.StatusOK, r.status, "%s", r.body)
			tt.check(t, decodeList(t, r))
		})
	}
}

// badQuery is a query string and the parameter its 400 must name.
type badQuery struct{ query, param string }

// badFilterAndPage are bad values of the parameters both listings take.
var badFilterAndPage = []badQuery{
	{"limit=0", "limit"},
	{"limit=-1", "limit"},
	{"limit=101", "limit"},
	{"limit=ten", "limit"},
	{"limit=1.5", "limit"},
	{"limit=1&limit=2", "limit"},
	{"topic=" + strings.Repeat("t", maxTopic+1), "topic"},
	{"topic=%ff", "topic"},
	{"since=yesterday", "since"},
	{"since=2025-13-01", "since"},
	{"since=2025-02-01T10:00:00", "since"}, // no zone
	{"until=1740823200", "until"},
	{"since=2025-02-10&until=2025-02-09", "until"},
	{"since=2025-02-10T00:00:00Z&until=2025-02-10T00:00:00Z", "until"},
	{"cursor=garbage!", "cursor"},
	{"cursor=" + strings.Repeat("A", maxCursor+1), "cursor"},
	{"entity=" + strings.Repeat("e", maxEntity+1), "entity"},
	{"entity=%ff", "entity"},
	{"source=not%20a%20host", "source"},
	{"source=" + strings.Repeat("a", maxSource+1), "source"},
	{"source=-bad.example", "source"},
	{"Q=council", "Q"},
	{"=0", ""},
}

func TestListBadParameters(t *testing.T) {
	h := newTestHandler(t)
	tests := append([]badQuery{
		{"full=maybe", "full"},
		{"q=" + strings.Repeat("a", maxQ+1), "q"},
		{"q=%ff", "q"},
		{"language=e1", "language"},
		{"language=english%20please", "language"},
		{"sort=date", "sort"},
		{"sort=relevance", "sort"}, // without q
	}, badFilterAndPage...)
	for _, tt := range tests {
		t.Run(tt.query[:min(len(tt.query), 40)], func(t *testing.T) {
			r := do(t, h, http.MethodGet, "/api/v1/articles?"+tt.query)
			require.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
			var e errorBody
			require.NoError(t, json.Unmarshal(r.body, &e))
			require.Equal(t, tt.param, e.Parameter)
			require.NotEmpty(t, e.Error)
		})
	}
}

func TestListCursorOfAnotherQuery(t *testing.T) {
	h := newTestHandler(t)
	b := decodeList(t, do(t, h, http.MethodGet, "/api/v1/articles?limit=2"))
	r := do(t, h, http.MethodGet, "/api/v1/articles?q=council&cursor="+*b.NextCursor)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Contains(t, string(r.body), `"parameter":"cursor"`)
}

func TestListPagination(t *testing.T) {
	for _, query := range []string{"limit=7", "limit=2&q=council&until=2025-02-20", "limit=4&q=council", "limit=3&language=en&topic=politics"} {
		t.Run(query, func(t *testing.T) {
			h := newTestHandler(t)
			all, err := url.ParseQuery(query)
			require.NoError(t, err)
			all.Set("limit", "100")
			everything := decodeList(t, do(t, h, http.MethodGet, "/api/v1/articles?"+all.Encode()))
			require.Empty(t, *everything.NextCursor)
			var got []string
			next := ""
			for {
				r := do(t, h, http.MethodGet, "/api/v1/articles?"+query+"&cursor="+url.QueryEscape(next))
				require.Equal(t, http.StatusOK, r.status, "%s", r.body)
				b := decodeList(t, r)
				got = append(got, ids(b.Articles)...)
				if next = *b.NextCursor; next == "" {
					break
				}
			}
			require.Equal(t, ids(everything.Articles), got)
		})
	}
}

func TestGetArticle(t *testing.T) {
	h := newTestHandler(t)
	r := do(t, h, http.MethodGet, "/api/v1/articles/fixture-harbour-strike")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)

	var fields map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(r.body, &fields))
	for _, k := range []string{"id", "url", "canonical_url", "feed", "source", "title", "byline", "published",
		"fetched_at", "stored_at", "language", "text", "topics", "keywords"} {
		require.Contains(t, fields, k)
	}
	require.NotContains(t, fields, "snippet")
	var topics []map[string]any
	require.NoError(t, json.Unmarshal(fields["topics"], &topics))
	require.Len(t, topics, 2)
	require.Equal(t, map[string]any{"code": "medtop:04000000", "label": "economy, business and finance", "score": 0.71, "level": 1.0}, topics[0])

	var a store.Article
	require.NoError(t, json.Unmarshal(r.body, &a))
	want := storetest.Fixtures()[1]
	require.Equal(t, want.ID, a.ID)
	require.Equal(t, want.Text, a.Text)
	require.Equal(t, want.Keywords, a.Keywords)
	require.True(t, want.Published.Equal(*a.Published))

	r = do(t, h, http.MethodGet, "/api/v1/articles/fixture-electricite")
	require.Equal(t, http.StatusOK, r.status)
	require.Contains(t, string(r.body), `"published":null`)
}

func TestErrors(t *testing.T) {
	h := newTestHandler(t)
	tests := []struct {
		method, target string
		status         int
		param          string
	}{
		{http.MethodGet, "/api/v1/articles/no-such-article", http.StatusNotFound, ""},
		{http.MethodGet, "/api/v1/articles/fixture-harbour-strike?full=true", http.StatusBadRequest, "full"},
		{http.MethodGet, "/api/v1/articles/", http.StatusNotFound, ""},
		{http.MethodGet, "/api/v2/articles", http.StatusNotFound, ""},
		{http.MethodGet, "/api/v1/articles/a/b", http.StatusNotFound, ""},
		{http.MethodPost, "/api/v1/articles", http.StatusMethodNotAllowed, ""},
		{http.MethodDelete, "/api/v1/articles/fixture-harbour-strike", http.StatusMethodNotAllowed, ""},
		{http.MethodPut, "/api/v1/articles/fixture-harbour-strike", http.StatusMethodNotAllowed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			r := do(t, h, tt.method, tt.target)
			require.Equal(t, tt.status, r.status, "%s", r.body)
			var e errorBody
			require.NoError(t, json.Unmarshal(r.body, &e))
			require.NotEmpty(t, e.Error)
			require.Equal(t, tt.param, e.Parameter)
			if tt.status == http.StatusMethodNotAllowed {
				require.Equal(t, "GET, HEAD", r.header.Get("Allow"))
			}
		})
	}
}

func TestHead(t *testing.T) {
	h := newTestHandler(t)
	for _, target := range []string{"/api/v1/articles", "/api/v1/articles/fixture-harbour-strike"} {
		r := do(t, h, http.MethodHead, target)
		require.Equal(t, http.StatusOK, r.status, target)
	}
}

// failing is a store whose every read fails with an error that names SQL.
type failing struct{ err error }

func (f failing) List(context.Context, store.Query) (store.Page, error) { return store.Page{}, f.err }
func (f failing) Get(context.Context, string) (*store.Article, error)   { return nil, f.err }
func (f failing) Story(context.Context, string) (*store.StoryView, error) {
	return nil, f.err
}
func (f failing) Stories(context.Context, store.StoryQuery) (store.StoryPage, error) {
	return store.StoryPage{}, f.err
}
func (f failing) Sources(context.Context, time.Time) ([]store.SourceStats, error) {
	return nil, f.err
}

func TestStoreFailuresAre500WithoutDetails(t *testing.T) {
	secret := errors.New("SELECT a.id FROM articles_fts: disk I/O error")
	closed := storetest.Open(t)
	require.NoError(t, closed.Close())
	handlers := map[string]func(log *slog.Logger) http.Handler{
		"failing store": func(log *slog.Logger) http.Handler { return newHandler(failing{secret}, WithLogger(log)) },
		"closed store":  func(log *slog.Logger) http.Handler { return New(closed, WithLogger(log)) },
	}
	for name, mk := range handlers {
		for _, target := range []string{"/api/v1/articles", "/api/v1/articles?q=x", "/api/v1/articles/some-id",
			"/api/v1/stories/some-story", "/api/v1/stories", "/api/v1/stories?entity=x", "/api/v1/sources"} {
			t.Run(name+" "+target, func(t *testing.T) {
				var logs bytes.Buffer
				h := mk(slog.New(slog.NewTextHandler(&logs, nil)))
				r := do(t, h, http.MethodGet, target)
				require.Equal(t, http.StatusInternalServerError, r.status)
				require.JSONEq(t, `{"error":"internal error"}`, string(r.body))
				require.Contains(t, logs.String(), "error=")
			})
		}
	}
}

// TestMalformedQueryIs400: a pair url.URL.Query drops (a bad %-escape, a ';')
// or a NUL byte in a parameter or an id is a 400 naming the parameter, on
// every endpoint. Before, ?q=%zz answered 200 with unfiltered results, and a
// NUL reached PostgreSQL as a 500.
func TestMalformedQueryIs400(t *testing.T) {
	h := newTestHandler(t)
	for _, tt := range []struct{ target, param string }{
		{"/api/v1/articles?q=%zz", "q"},
		{"/api/v1/articles?limit=5&q=harbour%", "q"},
		{"/api/v1/articles?q=a;b", "q"},
		{"/api/v1/articles?entity=a%00b", "entity"},
		{"/api/v1/articles?topic=%00", "topic"},
		{"/api/v1/articles?cursor=x%00", "cursor"},
		{"/api/v1/stories?since=%zz", "since"},
		{"/api/v1/sources?days=%00", "days"},
		{"/api/v1/articles/abc%00", "id"},
		{"/api/v1/stories/abc%00", "id"},
	} {
		t.Run(tt.target, func(t *testing.T) {
			r := do(t, h, http.MethodGet, tt.target)
			require.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
			var e errorBody
			require.NoError(t, json.Unmarshal(r.body, &e))
			require.Equal(t, tt.param, e.Parameter)
			require.NotEmpty(t, e.Error)
		})
	}
}

// blocking is a store whose every read waits for release or the request's
// context, counting the reads that started.
type blocking struct {
	failing
	release chan struct{}
	started chan struct{}
}

func (b blocking) List(ctx context.Context, _ store.Query) (store.Page, error) {
	b.started <- struct{}{}
	select {
	case <-b.release:
		return store.Page{}, nil
	case <-ctx.Done():
		return store.Page{}, fmt.Errorf("interrupted: %w", ctx.Err())
	}
}

// TestQueryCostIsBounded: one search cannot stall the API. Too many words
// or prefixes are refused with a 400 before reaching the store; requests
// beyond the concurrency limits are answered 503 at once instead of
// queuing; a query over the time limit is interrupted and answered 503.
// Before, q of 166 "a*" terms took 8.8 s and eight of them made an ordinary
// request wait 31 s.
func TestQueryCostIsBounded(t *testing.T) {
	h := newTestHandler(t)
	for q, want := range map[string]int{
		strings.Repeat("a* ", 166):                      http.StatusBadRequest,
		strings.Repeat("harbour ", 17):                  http.StatusBadRequest,
		"ab* cd* ef* gh* ij*":                           http.StatusBadRequest,
		"ab* cd* ef* gh*":                               http.StatusOK,
		strings.TrimSpace(strings.Repeat("ferry ", 16)): http.StatusOK,
	} {
		r := do(t, h, http.MethodGet, "/api/v1/articles?q="+url.QueryEscape(q))
		require.Equal(t, want, r.status, "%.40q: %s", q, r.body)
	}

	b := blocking{release: make(chan struct{}), started: make(chan struct{}, 16)}
	hb := newHandler(b, WithLimits(Limits{Queries: 3, Searches: 1, Timeout: time.Minute}))
	results := make(chan int, 8)
	get := func(target string) { results <- do(t, hb, http.MethodGet, target).status }
	go get("/api/v1/articles?q=harbour")
	<-b.started
	// A second search is refused at once; a listing still gets through.
	require.Equal(t, http.StatusServiceUnavailable, do(t, hb, http.MethodGet, "/api/v1/articles?q=ferry").status)
	go get("/api/v1/articles?limit=5")
	go get("/api/v1/articles?limit=6")
	<-b.started
	<-b.started
	r := do(t, hb, http.MethodGet, "/api/v1/articles?limit=7")
	require.Equal(t, http.StatusServiceUnavailable, r.status, "the fourth request at once")
	require.Equal(t, "1", r.header.Get("Retry-After"))
	close(b.release)
	for range 3 {
		require.Equal(t, http.StatusOK, <-results)
	}

	slow := blocking{release: make(chan struct{}), started: make(chan struct{}, 1)}
	var logs bytes.Buffer
	hs := newHandler(slow, WithLimits(Limits{Queries: 2, Searches: 1, Timeout: 100 * time.Millisecond}), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	start := time.Now()
	r = do(t, hs, http.MethodGet, "/api/v1/articles?q=harbour")
	require.Equal(t, http.StatusServiceUnavailable, r.status, "%s", r.body)
	require.Contains(t, string(r.body), "longer than 100ms")
	require.Less(t, time.Since(start), 30*time.Second)
	require.NotContains(t, logs.String(), "level=ERROR")
}
