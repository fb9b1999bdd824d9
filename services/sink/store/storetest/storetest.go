// Package storetest generates articles and opens filled in-memory stores for
// the tests and benchmarks of the sink's packages.
package storetest

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/services/sink/store"
	"github.com/newsflow/newsflow/services/sink/store/pgtest"
)

// Topics are the IPTC media topics generated articles are tagged with.
var Topics = []store.Topic{
	{Code: "medtop:01000000", Label: "arts, culture, entertainment and media", Level: 1},
	{Code: "medtop:04000000", Label: "economy, business and finance", Level: 1},
	{Code: "medtop:11000000", Label: "politics", Level: 1},
	{Code: "medtop:13000000", Label: "science and technology", Level: 1},
	{Code: "medtop:15000000", Label: "sport", Level: 1},
	{Code: "medtop:20001065", Label: "soccer", Level: 2},
}

// Languages are the languages generated articles are in.
var Languages = []string{"en", "de", "fr"}

var words = strings.Fields(`river market election council budget striker goal
	vaccine climate harbour orchestra festival museum senator minister court
	engine battery satellite telescope rainfall drought wheat export tariff
	railway bridge tunnel election ballot mayor league coach stadium tennis
	theatre novel painter gallery sculpture laboratory genome reactor turbine`)

// Base is the publication time of the newest generated article; each next
// article is an hour older.
var Base = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// Articles returns n articles, the same for the same seed. Article i was
// published i hours before Base, except that every seventh has no known
// publication time and was fetched at that time instead. Each has one to
// three topics and ten to eighty words of text drawn from a small
// vocabulary, so searches return many hits.
func Articles(n int, seed uint64) []*store.Article {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]*store.Article, n)
	for i := range out {
		at := Base.Add(-time.Duration(i) * time.Hour)
		canonical := fmt.Sprintf("https://news%d.example/%d/story-%d", i%5, at.Year(), i)
		a := &store.Article{
			ID:           newsflowv1.ArticleID(canonical),
			URL:          canonical + "?utm_source=feed",
			CanonicalURL: canonical,
			Feed:         fmt.Sprintf("https://news%d.example/feed.xml", i%5),
			Source:       fmt.Sprintf("news%d.example", i%5),
			ContentHash:  fmt.Sprintf("%016x", rng.Uint64()),
			Title:        sentence(rng, 3+rng.IntN(6)),
			Byline:       "Reporter " + words[rng.IntN(len(words))],
			Language:     Languages[i%len(Languages)],
			Text:         sentence(rng, 10+rng.IntN(70)),
			FetchedAt:    at.Add(5 * time.Minute),
		}
		if i%7 == 6 {
			a.FetchedAt = at
		} else {
			p := at
			a.Published = &p
		}
		for _, k := range rng.Perm(len(Topics))[:1+rng.IntN(3)] {
			t := Topics[k]
			t.Score = float64(rng.IntN(1000)) / 1000
			a.Topics = append(a.Topics, t)
		}
		a.Keywords = []string{words[rng.IntN(len(words))], words[rng.IntN(len(words))]}
		out[i] = a
	}
	return out
}

func sentence(rng *rand.Rand, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = words[rng.IntN(len(words))]
	}
	w[0] = strings.ToUpper(w[0][:1]) + w[0][1:]
	return strings.Join(w, " ") + "."
}

// Open returns an in-memory SQLite store holding arts, closed when tb ends.
func Open(tb testing.TB, arts ...*store.Article) *store.Store {
	tb.Helper()
	return OpenEngine(tb, "sqlite", arts...)
}

// Engines are the store's engines, the names OpenEngine takes.
var Engines = []string{"sqlite", "postgres"}

// OpenEngine returns an empty store of engine holding arts, closed when tb
// ends: SQLite in memory, or a new database in the test binary's PostgreSQL
// cluster (pgtest; the package's TestMain must call pgtest.Main).
func OpenEngine(tb testing.TB, engine string, arts ...*store.Article) *store.Store {
	tb.Helper()
	ctx := context.Background()
	var s *store.Store
	var err error
	switch engine {
	case "sqlite":
		s, err = store.Open(ctx, ":memory:")
	case "postgres":
		s, err = store.OpenPostgres(ctx, pgtest.Database(tb))
	default:
		tb.Fatalf("unknown engine %q", engine)
	}
	if err != nil {
		tb.Fatalf("open %s store: %v", engine, err)
	}
	tb.Cleanup(func() { s.Close() })
	if len(arts) > 0 {
		res, err := s.UpsertBatch(ctx, arts)
		if err != nil {
			tb.Fatalf("upsert: %v", err)
		}
		for i, r := range res {
			if r.Err != nil {
				tb.Fatalf("upsert %s: %v", arts[i].ID, r.Err)
			}
		}
	}
	return s
}

// Contract runs test once per engine, as subtests named after the engines:
// the one suite both engines must pass.
func Contract(t *testing.T, test func(t *testing.T, open func(tb testing.TB, arts ...*store.Article) *store.Store)) {
	t.Helper()
	for _, engine := range Engines {
		t.Run(engine, func(t *testing.T) {
			test(t, func(tb testing.TB, arts ...*store.Article) *store.Store {
				tb.Helper()
				return OpenEngine(tb, engine, arts...)
			})
		})
	}
}

//go:embed testdata/articles.json
var fixtures []byte

// Fixtures returns a handful of hand-written articles, fresh on each call:
// diacritics (Zürich, électricité), an unknown publication time, a word in
// a title versus only in a body (council), and text full of FTS5 operators.
func Fixtures() []*store.Article {
	var out []*store.Article
	if err := json.Unmarshal(fixtures, &out); err != nil {
		panic(fmt.Sprintf("storetest: decode testdata/articles.json: %v", err))
	}
	return out
}
