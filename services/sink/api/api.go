// Package api serves the sink's articles as JSON over HTTP:
//
//	GET /api/v1/articles?q=&topic=&entity=&source=&language=&since=&until=&sort=&limit=&cursor=&full=
//	GET /api/v1/articles/{id}
//	GET /api/v1/stories?topic=&entity=&source=&since=&until=&min_articles=&limit=&cursor=
//	GET /api/v1/stories/{id}
//	GET /api/v1/sources?days=
//	GET /openapi.json (OpenAPI handler)
//
// Every error is a JSON object {"error": "...", "parameter": "..."}; store
// failures are logged, never shown.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/newsflow/newsflow/services/sink/store"
)

// Option configures the handler.
type Option func(*handler)

// Limits bound what the API lets clients cost the store. A request over a
// limit is answered at once (503 with Retry-After) instead of queuing
// behind the others.
type Limits struct {
	// Queries is the most requests served at once; Searches the most of
	// them with a full-text search (q).
	Queries, Searches int
	// Timeout bounds one request's store work, on both engines (the query
	// is interrupted, not merely abandoned).
	Timeout time.Duration
}

// DefaultLimits are the sink's -api-max-queries, -api-max-searches and
// -api-timeout defaults.
func DefaultLimits() Limits { return Limits{Queries: 8, Searches: 2, Timeout: 5 * time.Second} }

// WithLimits sets the handler's limits (default DefaultLimits).
func WithLimits(l Limits) Option {
	return func(h *handler) {
		h.queries = make(chan struct{}, max(1, l.Queries))
		h.searches = make(chan struct{}, max(1, l.Searches))
		h.timeout = l.Timeout
	}
}

// WithLogger sets where failures of the store are logged; the default is
// slog.Default().
func WithLogger(l *slog.Logger) Option { return func(h *handler) { h.log = l } }

// articles is what the handler needs of *store.Store; tests fake it to
// provoke failures the real store would need a broken disk for.
type articles interface {
	List(ctx context.Context, q store.Query) (store.Page, error)
	Get(ctx context.Context, id string) (*store.Article, error)
	Story(ctx context.Context, id string) (*store.StoryView, error)
	Stories(ctx context.Context, q store.StoryQuery) (store.StoryPage, error)
	Sources(ctx context.Context, since time.Time) ([]store.SourceStats, error)
}

type handler struct {
	st  articles
	log *slog.Logger
	mux *http.ServeMux
	// queries and searches are semaphores of the requests in progress.
	queries, searches chan struct{}
	timeout           time.Duration
}

// New returns the API handler over s. It serves paths under /api/v1/ and
// answers anything else with a JSON 404.
func New(s *store.Store, opts ...Option) http.Handler { return newHandler(s, opts...) }

func newHandler(st articles, opts ...Option) *handler {
	h := &handler{st: st, log: slog.Default(), mux: http.NewServeMux()}
	WithLimits(DefaultLimits())(h)
	for _, o := range opts {
		o(h)
	}
	h.mux.HandleFunc("GET /api/v1/articles", h.list)
	h.mux.HandleFunc("GET /api/v1/articles/{id}", h.get)
	h.mux.HandleFunc("GET /api/v1/stories", h.stories)
	h.mux.HandleFunc("GET /api/v1/stories/{id}", h.story)
	h.mux.HandleFunc("GET /api/v1/sources", h.sources)
	// Without these the mux would answer other methods with a plain-text 405
	// and unknown paths with a plain-text 404.
	for _, p := range []string{"/api/v1/articles", "/api/v1/articles/{id}", "/api/v1/stories", "/api/v1/stories/{id}", "/api/v1/sources"} {
		h.mux.HandleFunc(p, methodNotAllowed)
	}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{status: http.StatusNotFound, msg: "no such endpoint"})
	})
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/api/v1/") {
		h.mux.ServeHTTP(w, r)
		return
	}
	if !acquire(h.queries) {
		busy(w, "too many requests in progress")
		return
	}
	defer func() { <-h.queries }()
	if r.URL.Path == "/api/v1/articles" && strings.Contains(r.URL.RawQuery, "q=") {
		if !acquire(h.searches) {
			busy(w, "too many searches in progress")
			return
		}
		defer func() { <-h.searches }()
	}
	if h.timeout > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
		defer cancel()
		r = r.WithContext(ctx)
	}
	h.mux.ServeHTTP(w, r)
}

// acquire takes a slot of sem if one is free, without waiting.
func acquire(sem chan struct{}) bool {
	select {
	case sem <- struct{}{}:
		return true
	default:
		return false
	}
}

func busy(w http.ResponseWriter, what string) {
	w.Header().Set("Retry-After", "1")
	writeError(w, &apiError{status: http.StatusServiceUnavailable, msg: what + "; retry shortly"})
}

type listResponse struct {
	Articles   []store.Article `json:"articles"`
	NextCursor string          `json:"next_cursor"`
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	v, err := queryParams(r)
	if err != nil {
		writeError(w, err)
		return
	}
	p, err := parseList(v)
	if err != nil {
		writeError(w, err)
		return
	}
	page, err := h.st.List(r.Context(), p.query)
	if err != nil {
		h.listFailed(w, r, err)
		return
	}
	resp := listResponse{Articles: page.Articles, NextCursor: page.NextCursor}
	if resp.Articles == nil {
		resp.Articles = []store.Article{}
	}
	for i := range resp.Articles {
		if p.full {
			resp.Articles[i].Snippet = ""
		} else {
			resp.Articles[i].Text = ""
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	getOne(h, w, r, "article", h.st.Get)
}

type storiesResponse struct {
	Stories    []store.StorySummary `json:"stories"`
	NextCursor string               `json:"next_cursor"`
}

func (h *handler) stories(w http.ResponseWriter, r *http.Request) {
	v, err := queryParams(r)
	if err != nil {
		writeError(w, err)
		return
	}
	q, err := parseStories(v)
	if err != nil {
		writeError(w, err)
		return
	}
	page, err := h.st.Stories(r.Context(), q)
	if err != nil {
		h.listFailed(w, r, err)
		return
	}
	resp := storiesResponse{Stories: page.Stories, NextCursor: page.NextCursor}
	if resp.Stories == nil {
		resp.Stories = []store.StorySummary{}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *handler) story(w http.ResponseWriter, r *http.Request) {
	getOne(h, w, r, "story", h.st.Story)
}

// getOne answers a request for the one item (an article, a story) that get
// returns for the path's id; what names it in the 404.
func getOne[T any](h *handler, w http.ResponseWriter, r *http.Request, what string, get func(context.Context, string) (T, error)) {
	q, err := queryParams(r)
	if err == nil {
		err = onlyParams(q)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	id := r.PathValue("id")
	if strings.ContainsRune(id, 0) {
		writeError(w, badParam("id", "the id must not contain a NUL byte"))
		return
	}
	v, err := get(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, &apiError{status: http.StatusNotFound, msg: what + " not found"})
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

type sourcesResponse struct {
	Since   time.Time           `json:"since"`
	Sources []store.SourceStats `json:"sources"`
}

func (h *handler) sources(w http.ResponseWriter, r *http.Request) {
	v, err := queryParams(r)
	if err != nil {
		writeError(w, err)
		return
	}
	days, err := parseDays(v)
	if err != nil {
		writeError(w, err)
		return
	}
	now := time.Now().UTC()
	since := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1-days)
	stats, err := h.st.Sources(r.Context(), since)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if stats == nil {
		stats = []store.SourceStats{}
	}
	writeJSON(w, http.StatusOK, sourcesResponse{Since: since, Sources: stats})
}

// listFailed answers a listing's error: a cursor the store refused is the
// client's fault, anything else the store's.
func (h *handler) listFailed(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, store.ErrInvalidCursor) {
		writeError(w, badParam("cursor", "invalid cursor: it must come unchanged from next_cursor of the same query"))
		return
	}
	h.fail(w, r, err)
}

func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(r.Context().Err(), context.DeadlineExceeded):
		w.Header().Set("Retry-After", "1")
		writeError(w, &apiError{status: http.StatusServiceUnavailable, msg: fmt.Sprintf("the query took longer than %s; narrow it (fewer or longer words, a source, a time range)", h.timeout)})
		return
	case r.Context().Err() != nil:
		// The client went away: not a store failure.
		h.log.DebugContext(r.Context(), "query api: client gone", "path", r.URL.Path, "error", err)
		return
	}
	h.log.ErrorContext(r.Context(), "query api", "path", r.URL.Path, "error", err)
	writeError(w, &apiError{status: http.StatusInternalServerError, msg: "internal error"})
}

func methodNotAllowed(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Allow", "GET, HEAD")
	writeError(w, &apiError{status: http.StatusMethodNotAllowed, msg: "method not allowed"})
}
