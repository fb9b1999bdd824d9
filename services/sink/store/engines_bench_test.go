package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/newsflow/newsflow/services/sink/store"
	"github.com/newsflow/newsflow/services/sink/store/pgtest"
	"github.com/newsflow/newsflow/services/sink/store/storetest"
)

// openBench opens an empty store of engine as the sink runs it: SQLite in a
// file (WAL), PostgreSQL in a new database of a cluster with fsync on.
func openBench(b *testing.B, engine string) *store.Store {
	b.Helper()
	dsn := "sqlite:" + filepath.Join(b.TempDir(), "bench.db")
	if engine == "postgres" {
		dsn = pgtest.Database(b)
	}
	s, err := store.OpenDSN(context.Background(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkWrite measures inserts of new articles in transactions of 1, 100
// and 1000 on both engines, as the sink writes them (-store-batch).
//
//	go test -run '^$' -bench Write -benchtime 5000x ./store/
func BenchmarkWrite(b *testing.B) {
	ctx := context.Background()
	for _, engine := range storetest.Engines {
		for _, size := range []int{1, 100, 1000} {
			b.Run(fmt.Sprintf("%s/batch=%d", engine, size), func(b *testing.B) {
				s := openBench(b, engine)
				arts := storetest.Articles(b.N, 60)
				b.ResetTimer()
				start := time.Now()
				for i := 0; i < len(arts); i += size {
					res, err := s.UpsertBatch(ctx, arts[i:min(i+size, len(arts))])
					if err != nil {
						b.Fatal(err)
					}
					for _, r := range res {
						if r.Outcome != store.Inserted {
							b.Fatalf("outcome %v, %v", r.Outcome, r.Err)
						}
					}
				}
				b.ReportMetric(float64(len(arts))/time.Since(start).Seconds(), "rows/s")
			})
		}
	}
}

// BenchmarkWriteSmallBatches writes articles of a news article's size (a
// text of about 800 words, 20 entities) in the small batches the sink
// writes when it keeps up with the pipeline (5 or 6 articles in TestLoad),
// and in full ones for comparison. The per-commit cost is what differs.
// It also reports what the database grew by per article.
//
//	go test -run '^$' -bench WriteSmallBatches -benchtime 20000x ./store/
func BenchmarkWriteSmallBatches(b *testing.B) {
	ctx := context.Background()
	for _, engine := range storetest.Engines {
		for _, size := range []int{6, 100} {
			b.Run(fmt.Sprintf("%s/batch=%d", engine, size), func(b *testing.B) {
				s := openBench(b, engine)
				arts := storetest.Articles(b.N, 62)
				for i, a := range arts {
					a.Text = strings.Repeat(a.Text+fmt.Sprintf(" w%d ", i), 12)
					for j := range 20 {
						a.Entities = append(a.Entities, store.Entity{Name: fmt.Sprintf("Person %d", (i*7+j)%500), Type: "person", Mentions: 2, Aliases: []string{}})
					}
				}
				before := dbSize(b, s)
				b.ResetTimer()
				start := time.Now()
				for i := 0; i < len(arts); i += size {
					if _, err := s.UpsertBatch(ctx, arts[i:min(i+size, len(arts))]); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(arts))/time.Since(start).Seconds(), "rows/s")
				b.StopTimer()
				b.ReportMetric(float64(dbSize(b, s)-before)/float64(len(arts)), "disk-B/article")
			})
		}
	}
}

// BenchmarkWriteBigStories writes articles in batches of 100 into a few
// stories that grow to thousands of articles each, as a long-running event
// (or the soak run's farm, whose 33 stories reach 1,600 articles) does: the
// story summaries must not cost a write in proportion to its story's size.
// It reports the rate of the whole run and of its last tenth.
//
//	go test -run '^$' -bench WriteBigStories -benchtime 20000x ./store/
func BenchmarkWriteBigStories(b *testing.B) {
	ctx := context.Background()
	for _, engine := range storetest.Engines {
		b.Run(engine, func(b *testing.B) {
			s := openBench(b, engine)
			arts := storetest.Articles(b.N, 61)
			for i, a := range arts {
				a.Story = &store.Story{ID: fmt.Sprintf("story-%d", i%10)}
			}
			b.ResetTimer()
			start, tenth := time.Now(), time.Time{}
			for i := 0; i < len(arts); i += 100 {
				if i >= len(arts)*9/10 && tenth.IsZero() {
					tenth = time.Now()
				}
				if _, err := s.UpsertBatch(ctx, arts[i:min(i+100, len(arts))]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(arts))/time.Since(start).Seconds(), "rows/s")
			if !tenth.IsZero() {
				b.ReportMetric(float64(len(arts)-len(arts)*9/10)/time.Since(tenth).Seconds(), "last-tenth-rows/s")
			}
		})
	}
}

// BenchmarkQueries100k loads 100,000 generated articles into each engine
// and reports the p50 and p99 latency of the API's main queries, and the
// database's size per 10,000 articles.
//
//	go test -run '^$' -bench Queries100k -benchtime 200x -timeout 30m ./store/
func BenchmarkQueries100k(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	arts := storetest.Articles(n, 61)
	for i, a := range arts {
		if i%50 == 0 {
			a.Entities = []store.Entity{{Name: "Port Sainte-Aline", Type: "place", Mentions: 1, Aliases: []string{}}}
		}
		if i%4 == 0 {
			a.Story = &store.Story{ID: fmt.Sprintf("story-%d", i/40)}
		}
	}
	for _, engine := range storetest.Engines {
		b.Run(engine, func(b *testing.B) {
			s := openBench(b, engine)
			before := dbSize(b, s)
			for i := 0; i < n; i += 1000 {
				if _, err := s.UpsertBatch(ctx, arts[i:i+1000]); err != nil {
					b.Fatal(err)
				}
			}
			per10k := float64(dbSize(b, s)-before) / (n / 10_000)
			// A deployment's autovacuum analyzes the new rows soon after such
			// a load; the queries below should be planned with statistics.
			if err := store.Analyze(s); err != nil {
				b.Fatal(err)
			}

			deep := cursorAfter(b, s, 50)
			week := storetest.Base.Add(-7 * 24 * time.Hour)
			queries := []struct {
				name string
				run  func(i int) error
			}{
				{"get", func(i int) error { _, err := s.Get(ctx, arts[(i*7919)%n].ID); return err }},
				{"newest", list(s, store.Query{})},
				{"page 51", list(s, store.Query{Cursor: deep})},
				{"topic", list(s, store.Query{Topic: "medtop:20001065"})},
				{"entity", list(s, store.Query{Entity: "port sainte-aline"})},
				{"source language week", list(s, store.Query{Source: "news2.example", Language: "de", Since: week})},
				{"search one word", list(s, store.Query{Q: "harbour"})},
				{"search two words", list(s, store.Query{Q: "harbour tunnel"})},
				{"search by published", list(s, store.Query{Q: "harbour", ByPublished: true})},
				{"search with topic", list(s, store.Query{Q: "harbour", Topic: "politics"})},
				{"story", func(i int) error { _, err := s.Story(ctx, fmt.Sprintf("story-%d", i%2500)); return err }},
				{"stories", stories(s, store.StoryQuery{})},
				{"stories entity", stories(s, store.StoryQuery{Entity: "port sainte-aline"})},
				{"stories week min 5", stories(s, store.StoryQuery{Since: week, MinArticles: 5})},
			}
			for _, qc := range queries {
				b.Run(qc.name, func(b *testing.B) {
					var took []time.Duration
					i := 0
					for b.Loop() {
						start := time.Now()
						if err := qc.run(i); err != nil {
							b.Fatal(err)
						}
						took = append(took, time.Since(start))
						i++
					}
					slices.Sort(took)
					b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
					b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
					b.ReportMetric(per10k/(1<<20), "MiB/10k-articles")
				})
			}
		})
	}
}

func list(s *store.Store, q store.Query) func(int) error {
	return func(int) error { _, err := s.List(context.Background(), q); return err }
}

func stories(s *store.Store, q store.StoryQuery) func(int) error {
	return func(int) error { _, err := s.Stories(context.Background(), q); return err }
}

// dbSize is the database's size on disk: the SQLite file and its WAL, or
// PostgreSQL's pg_database_size.
func dbSize(b *testing.B, s *store.Store) int64 {
	b.Helper()
	size, err := s.Size(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return size
}
