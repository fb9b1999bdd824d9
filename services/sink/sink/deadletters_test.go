package sink

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/newsflow/newsflow/services/sink/store"
	"github.com/newsflow/newsflow/stage"
	"github.com/newsflow/newsflow/stage/natstest"
)

// TestRunCountsDeadLettersPerSource runs the sink stage and sends it dead
// letters as the other stages do: the sources statistics count them.
func TestRunCountsDeadLettersPerSource(t *testing.T) {
	ns := natstest.Run(t)
	cfg := stage.DefaultConfig()
	cfg.NATSURL = ns.ClientURL()
	cfg.ShutdownTimeout = 5 * time.Second
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rt, err := stage.New(t.Context(), cfg, stage.Options{Name: Name, Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() { _ = rt.Close() })
	db := filepath.Join(t.TempDir(), "news.db")
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, rt, Config{Store: "sqlite:" + db}) }()
	defer func() {
		stop()
		require.NoError(t, <-done)
	}()

	js := natstest.JetStream(t, ns)
	send := func(stg, reason string, data []byte) {
		msg := &nats.Msg{Subject: stage.SubjectDeadPrefix + stg, Data: data, Header: nats.Header{}}
		msg.Header.Set(stage.HeaderDeadStage, stg)
		msg.Header.Set(stage.HeaderDeadReason, reason)
		_, err := js.PublishMsg(t.Context(), msg)
		require.NoError(t, err)
	}
	a := outageArticle(1)
	a.Source = "broken.example"
	data, err := proto.Marshal(a)
	require.NoError(t, err)
	send("normalizer", "empty_extraction", data)
	send("normalizer", "empty_extraction", data)
	send("fetcher", "too_large", nil) // payload omitted

	var st *store.Store
	require.Eventually(t, func() bool {
		st, err = store.Open(t.Context(), db)
		return err == nil
	}, 10*time.Second, 50*time.Millisecond)
	defer st.Close()
	require.Eventually(t, func() bool {
		stats, err := st.Sources(t.Context(), time.Now().Add(-time.Hour))
		require.NoError(t, err)
		return len(stats) == 2 && stats[0].EmptyExtractions+stats[1].EmptyExtractions == 2 &&
			len(stats[0].DeadLetters)+len(stats[1].DeadLetters) == 2
	}, 10*time.Second, 50*time.Millisecond)
	stats, err := st.Sources(t.Context(), time.Now().Add(-time.Hour))
	require.NoError(t, err)
	bySource := map[string]store.SourceStats{}
	for _, s := range stats {
		bySource[s.Source] = s
	}
	require.Equal(t, []store.DeadLetterCount{{Stage: "normalizer", Reason: "empty_extraction", Count: 2}}, bySource["broken.example"].DeadLetters)
	require.Equal(t, []store.DeadLetterCount{{Stage: "fetcher", Reason: "too_large", Count: 1}}, bySource["unknown"].DeadLetters)
}
