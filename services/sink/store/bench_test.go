package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/newsflow/newsflow/services/sink/store"
	"github.com/newsflow/newsflow/services/sink/store/storetest"
)

// openFile opens a store on disk, as the sink runs it (WAL, fsync at
// checkpoints).
func openFile(b *testing.B) *store.Store {
	b.Helper()
	return openBench(b, "sqlite")
}

func BenchmarkUpsert(b *testing.B) {
	ctx := context.Background()
	upsertAll := func(b *testing.B, s *store.Store, arts []*store.Article, want store.Outcome) {
		b.Helper()
		start := time.Now()
		for _, a := range arts {
			got, err := s.Upsert(ctx, a)
			if err != nil || got != want {
				b.Fatalf("upsert: %v, %v, want %v", got, err, want)
			}
		}
		b.ReportMetric(float64(len(arts))/time.Since(start).Seconds(), "rows/s")
	}
	b.Run("insert", func(b *testing.B) {
		s := openFile(b)
		arts := storetest.Articles(b.N, 31)
		b.ResetTimer()
		upsertAll(b, s, arts, store.Inserted)
	})
	b.Run("duplicate", func(b *testing.B) {
		s := openFile(b)
		arts := storetest.Articles(min(b.N, 1000), 32)
		for _, a := range arts {
			if _, err := s.Upsert(ctx, a); err != nil {
				b.Fatal(err)
			}
		}
		again := make([]*store.Article, b.N)
		for i := range again {
			again[i] = arts[i%len(arts)]
		}
		b.ResetTimer()
		upsertAll(b, s, again, store.Unchanged)
	})
	b.Run("update", func(b *testing.B) {
		s := openFile(b)
		arts := storetest.Articles(b.N, 33)
		for _, a := range arts {
			if _, err := s.Upsert(ctx, a); err != nil {
				b.Fatal(err)
			}
			a.ContentHash += "-v2"
			a.Title += " (updated)"
		}
		b.ResetTimer()
		upsertAll(b, s, arts, store.Updated)
	})
	// A story relink: the same text, another story link.
	b.Run("relink", func(b *testing.B) {
		s := openFile(b)
		arts := storetest.Articles(b.N, 34)
		for _, a := range arts {
			if _, err := s.Upsert(ctx, a); err != nil {
				b.Fatal(err)
			}
			a.Story = &store.Story{ID: "story-" + a.ID, DuplicateOf: "story-" + a.ID}
		}
		b.ResetTimer()
		upsertAll(b, s, arts, store.Updated)
	})
}

// BenchmarkList runs listing and search over 10,000 generated articles.
// Their 45-word vocabulary makes every search term hit a third or more of
// the corpus, the worst case for ranking.
func BenchmarkList(b *testing.B) {
	ctx := context.Background()
	s := openFile(b)
	arts := storetest.Articles(10_000, 34)
	for i, a := range arts {
		if i%1000 == 999 {
			a.Topics = append(a.Topics, store.Topic{Code: "medtop:06000000", Label: "environment", Score: 0.4, Level: 1})
		}
		if _, err := s.Upsert(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
	deep := cursorAfter(b, s, 50)
	week := storetest.Base.Add(-7 * 24 * time.Hour)

	for _, bc := range []struct {
		name string
		q    store.Query
	}{
		{"newest", store.Query{}},
		{"page 51", store.Query{Cursor: deep}},
		{"topic", store.Query{Topic: "medtop:20001065"}},
		{"topic label", store.Query{Topic: "Politics"}},
		{"rare topic", store.Query{Topic: "environment"}},
		{"language topic week", store.Query{Language: "de", Topic: "sport", Since: week}},
		{"search one word", store.Query{Q: "harbour"}},
		{"search two words", store.Query{Q: "harbour tunnel"}},
		{"search prefix", store.Query{Q: "sta*"}},
		{"search with topic", store.Query{Q: "harbour", Topic: "politics"}},
		{"search no hit", store.Query{Q: "zeppelin"}},
		{"limit 100", store.Query{Limit: 100}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.List(ctx, bc.q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("get", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := s.Get(ctx, arts[i%len(arts)].ID); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// cursorAfter returns the cursor of the newest-first listing after pages
// pages.
func cursorAfter(b *testing.B, s *store.Store, pages int) string {
	b.Helper()
	q := store.Query{}
	for range pages {
		page, err := s.List(context.Background(), q)
		if err != nil {
			b.Fatal(err)
		}
		q.Cursor = page.NextCursor
	}
	return q.Cursor
}
