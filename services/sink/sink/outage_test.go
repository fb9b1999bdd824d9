package sink

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
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
	"github.com/newsflow/newsflow/services/sink/store"
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

// TestOutageLosesAndDuplicatesNothing streams articles into the sink while
// PostgreSQL is stopped for 20 seconds (pg_ctl stop -m fast, then start),
// and re-publishes a share of them under new message ids (redeliveries the
// stream cannot drop). Every article must end up stored exactly once, with
// nothing dead-lettered, and the sink must report not ready while the
// database is down and ready again after.
func TestOutageLosesAndDuplicatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 30 seconds")
	}
	cluster, err := pgtest.Start(pgtest.Options{})
	if err != nil {
		pgtest.Unavailable(t, err)
	}
	t.Cleanup(func() { cluster.Close() })
	ctx := t.Context()
	dsn, err := cluster.NewDatabase(ctx)
	require.NoError(t, err)

	ns := natstest.Run(t)
	cfg := stage.DefaultConfig()
	cfg.NATSURL = ns.ClientURL()
	cfg.Workers = 2
	cfg.MaxDeliver = 1000 // the outage must not exhaust deliveries
	cfg.RetryBase, cfg.RetryMax = 200*time.Millisecond, 2*time.Second
	cfg.AckWait, cfg.HandlerTimeout = 10*time.Second, 5*time.Second
	cfg.ShutdownTimeout = 5 * time.Second
	tel, health := stage.NewTelemetry(), stage.NewHealth()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rt, err := stage.New(ctx, cfg, stage.Options{Name: Name, Telemetry: tel, Health: health, Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() { _ = rt.Close() })

	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(runCtx, rt, Config{Store: dsn, BatchSize: 20, BatchWait: 50 * time.Millisecond})
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
		// About 40 articles a second for 25 seconds: before, during and
		// after the outage. Every tenth is published a second time under
		// another message id, as an upstream crash between publish and ack
		// would.
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
			time.Sleep(25 * time.Millisecond)
		}
	})

	storedCount := func() int {
		return int(tel.CounterValues("newsflow_store_rows_written_total", "outcome")["inserted"])
	}
	waitUntil(t, 30*time.Second, func() bool { return storedCount() >= 50 })
	require.NoError(t, cluster.StopServer())
	stoppedAt := time.Now()
	waitUntil(t, 15*time.Second, func() bool {
		return health.Check(ctx)["sink/store"] != nil && gaugeValue(t, tel.Registry, "newsflow_store_up") == 0
	})
	time.Sleep(20*time.Second - time.Since(stoppedAt))
	require.NoError(t, cluster.StartServer())
	pubWG.Wait()

	waitUntil(t, 60*time.Second, func() bool { return storedCount() == n })
	waitUntil(t, 10*time.Second, func() bool { return len(health.Check(ctx)) == 0 })
	require.Equal(t, float64(1), gaugeValue(t, tel.Registry, "newsflow_store_up"))

	require.Greater(t, tel.MessageCount(Name, stage.OutcomeRetried), float64(0), "the outage was noticed")
	require.Zero(t, tel.MessageCount(Name, stage.OutcomeDeadLettered))
	// Settled: every message acked, none left to redeliver.
	waitUntil(t, 10*time.Second, func() bool {
		return tel.MessageCount(Name, stage.OutcomeOK)+tel.MessageCount(Name, stage.OutcomeDuplicate) == n+n/10
	})
	require.Equal(t, float64(n), tel.MessageCount(Name, stage.OutcomeOK))

	db, err := sql.Open("pgx", dsn)
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
	st, err := store.OpenPostgres(ctx, dsn)
	require.NoError(t, err)
	defer st.Close()
	for i := range n {
		_, err := st.Get(ctx, outageArticle(i).GetId())
		require.NoError(t, err, "article %d", i)
	}
}

func waitUntil(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", timeout)
		}
		time.Sleep(50 * time.Millisecond)
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
