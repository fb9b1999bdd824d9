package sink

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/services/sink/store/pgtest"
	"github.com/newsflow/newsflow/stage"
	"github.com/newsflow/newsflow/stage/natstest"
)

// outageArticle is article i of the outage test, with entities and a story
// as the tagger sets them.
func outageArticle(i int) *newsflowv1.Article {
	url := fmt.Sprintf("https://harbour.example/news/%d", i)
	return &newsflowv1.Article{
		Id: newsflowv1.ArticleID(url), Url: url, CanonicalUrl: url, Source: "harbour.example",
		ContentHash: fmt.Sprintf("h%d", i),
		Fetch:       &newsflowv1.Fetch{FetchedAt: timestamppb.Now()},
		Normalized:  &newsflowv1.Normalized{Title: fmt.Sprintf("Harbour report %d", i), Text: "Ferries ran late at the harbour."},
		Tagged: &newsflowv1.Tagged{Language: "en",
			Topics:   []*newsflowv1.Topic{{Code: "medtop:04000000", Label: "economy, business and finance", Score: 0.5, Level: 1}},
			Entities: []*newsflowv1.Entity{{Name: "Port Sainte-Aline", Type: "place", Subtype: "city", Mentions: 2}},
			Story:    &newsflowv1.Story{Id: fmt.Sprintf("story-%d", i%10)}},
	}
}

// outageLength is how long the store is down in the outage test: several
// minutes, far beyond the retry schedule (the default -max-deliver 6 with
// delays of 1s doubling spends its budget in about a minute) and many ack
// waits.
const outageLength = 150 * time.Second

// TestOutageLosesAndDuplicatesNothing streams articles into the sink while
// its store is down for minutes, on both engines at once: PostgreSQL
// stopped (pg_ctl stop -m fast, then start), SQLite locked by another
// process's exclusive transaction. A share of the articles is re-published
// under new message ids (redeliveries the stream cannot drop). With the
// default delivery budget, every article must end up stored exactly once,
// with nothing dead-lettered; the sink must report not ready while the
// store is down and ready again after, by itself.
func TestOutageLosesAndDuplicatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about three minutes")
	}
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		cluster, err := pgtest.Start(pgtest.Options{})
		if err != nil {
			pgtest.Unavailable(t, err)
		}
		t.Cleanup(func() { cluster.Close() })
		dsn, err := cluster.NewDatabase(t.Context())
		require.NoError(t, err)
		outage(t, dsn, "pgx", dsn, func() { require.NoError(t, cluster.StopServer()) }, func() { require.NoError(t, cluster.StartServer()) })
	})
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "news.db")
		var locker *sql.DB
		var tx *sql.Tx
		outage(t, "sqlite:"+path, "sqlite", path, func() {
			var err error
			locker, err = sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
			require.NoError(t, err)
			tx, err = locker.BeginTx(t.Context(), nil)
			require.NoError(t, err)
			// The write lock, held as a long migration or a bulk edit by
			// another process would hold it: every write of the sink
			// waits out its busy timeout and is refused.
			_, err = tx.Exec(`UPDATE articles SET source = source`)
			require.NoError(t, err)
		}, func() {
			require.NoError(t, tx.Rollback())
			require.NoError(t, locker.Close())
		})
	})
}

// outage runs the outage test against the store named by storeArg, read
// back through driver/dsn, with down and up starting and ending the outage.
func outage(t *testing.T, storeArg, driver, dsn string, down, up func()) {
	ctx := t.Context()
	ns := natstest.Run(t)
	cfg := stage.DefaultConfig()
	cfg.NATSURL = ns.ClientURL()
	cfg.Workers = 2
	cfg.ShutdownTimeout = 5 * time.Second
	tel, health := stage.NewTelemetry(), stage.NewHealth()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rt, err := stage.New(ctx, cfg, stage.Options{Name: Name, Telemetry: tel, Health: health, Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() { _ = rt.Close() })

	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(runCtx, rt, Config{Store: storeArg, BatchSize: 20, BatchWait: 50 * time.Millisecond})
	}()
	defer func() {
		stop()
		require.NoError(t, <-done)
	}()

	js := natstest.JetStream(t, ns)
	_, err = rt.Publisher(ctx, stage.SubjectTagged) // creates the stream
	require.NoError(t, err)
	const n = 1000
	var pubWG sync.WaitGroup
	pubWG.Go(func() {
		// Before, during and after the outage. Every tenth is published a
		// second time under another message id, as an upstream crash
		// between publish and ack would.
		gap := (outageLength + 30*time.Second) / n
		for i := range n {
			data, err := proto.Marshal(outageArticle(i))
			if err != nil {
				t.Error(err)
				return
			}
			copies := 1
			if i%10 == 0 {
				copies = 2
			}
			for c := range copies {
				_, err := js.PublishMsg(ctx, &nats.Msg{Subject: stage.SubjectTagged, Data: data}, jetstream.WithMsgID(fmt.Sprintf("outage-%d-%d", i, c)))
				if err != nil {
					t.Error(err)
					return
				}
			}
			time.Sleep(gap)
		}
	})

	storedCount := func() int {
		return int(tel.CounterValues("newsflow_store_rows_written_total", "outcome")["inserted"])
	}
	require.Eventually(t, func() bool { return storedCount() >= 50 }, 60*time.Second, 50*time.Millisecond)
	down()
	stoppedAt := time.Now()
	require.Eventually(t, func() bool {
		return health.Check(ctx)["sink/store"] != nil && gaugeValue(t, tel.Registry, "newsflow_store_up") == 0
	}, 30*time.Second, 50*time.Millisecond)
	time.Sleep(outageLength - time.Since(stoppedAt))
	require.NotEmpty(t, health.Check(ctx), "not ready at the end of the outage")
	up()
	pubWG.Wait()

	require.Eventually(t, func() bool { return storedCount() == n }, 90*time.Second, 50*time.Millisecond)
	require.Eventually(t, func() bool { return len(health.Check(ctx)) == 0 }, 30*time.Second, 50*time.Millisecond)
	require.Equal(t, float64(1), gaugeValue(t, tel.Registry, "newsflow_store_up"))

	require.Greater(t, tel.CounterValues("newsflow_held_retries_total", "stage")[Name], float64(0), "the outage was noticed")
	require.Zero(t, tel.MessageCount(Name, stage.OutcomeDeadLettered))
	// Settled: every message acked, none left to redeliver. (A batch whose
	// commit went through as the server stopped, but whose client saw an
	// error, is held and then acked as a duplicate: ok plus duplicate may
	// exceed the messages published, the rows below may not.)
	cons, err := js.Consumer(ctx, "ARTICLES_TAGGED", Name)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	}, 30*time.Second, 50*time.Millisecond)
	settled := tel.MessageCount(Name, stage.OutcomeOK) + tel.MessageCount(Name, stage.OutcomeDuplicate)
	require.GreaterOrEqual(t, settled, float64(n+n/10))
	t.Logf("%s: stored %d, ok %.0f, duplicate %.0f, held retries %.0f", driver, storedCount(),
		tel.MessageCount(Name, stage.OutcomeOK), tel.MessageCount(Name, stage.OutcomeDuplicate),
		tel.CounterValues("newsflow_held_retries_total", "stage")[Name])

	db, err := sql.Open(driver, dsn)
	require.NoError(t, err)
	defer db.Close()
	for _, table := range []string{"articles", "article_versions", "article_entities", "article_stories"} {
		key := "article_id"
		if table == "articles" {
			key = "id"
		}
		var rows, ids int
		require.NoError(t, db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT `+key+`) FROM `+table).Scan(&rows, &ids), table)
		require.Equal(t, n, rows, table)
		require.Equal(t, n, ids, table)
	}
}

func gaugeValue(t *testing.T, reg prometheus.Gatherer, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
