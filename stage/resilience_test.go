package stage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/stage/natstest"
)

// TestUnavailableHoldsWithoutSpendingDeliveries: while the handler says its
// dependency is down, for far longer than the retry schedule and several ack
// waits, the stage holds what it has, pulls nothing more, reports not ready,
// and afterwards handles every message once, on its first delivery, with
// nothing dead-lettered.
func TestUnavailableHoldsWithoutSpendingDeliveries(t *testing.T) {
	h := newHarness(t, "sink")
	h.rt.cfg.AckWait = 1500 * time.Millisecond
	h.rt.cfg.RetryBase, h.rt.cfg.RetryMax = 20*time.Millisecond, 200*time.Millisecond
	var down atomic.Bool
	down.Store(true)
	var mu sync.Mutex
	seenWhileDown := map[string]bool{}
	deliveries := map[string]uint64{}
	stop := h.run(SubjectTagged, "", func(_ context.Context, a *newsflowv1.Article) (*newsflowv1.Article, error) {
		mu.Lock()
		defer mu.Unlock()
		if down.Load() {
			seenWhileDown[a.GetId()] = true
			return nil, Unavailable(errors.New("database is down"))
		}
		deliveries[a.GetId()]++
		return nil, nil
	})
	defer stop()
	const n = 20
	for i := range n {
		h.publish(SubjectTagged, article(fmt.Sprint("u", i)))
	}
	require.Eventually(t, func() bool { return len(h.rt.Health().Check(t.Context())) > 0 }, 10*time.Second, 10*time.Millisecond)
	require.Zero(t, h.tel.MessageCount("sink", OutcomeRetried))
	time.Sleep(5 * time.Second) // over three ack waits, 25 retry delays
	mu.Lock()
	held := len(seenWhileDown)
	mu.Unlock()
	require.LessOrEqual(t, held, h.rt.cfg.Workers, "pulling stops while the dependency is down")
	require.NotEmpty(t, h.rt.Health().Check(t.Context())["sink/consumer"], "not ready while down")
	down.Store(false)

	require.Eventually(t, func() bool { return h.tel.MessageCount("sink", OutcomeOK) == n }, 10*time.Second, 10*time.Millisecond)
	require.Empty(t, h.rt.Health().Check(t.Context()), "ready again")
	require.Zero(t, h.tel.MessageCount("sink", OutcomeDeadLettered))
	mu.Lock()
	defer mu.Unlock()
	for id, d := range deliveries {
		require.Equal(t, uint64(1), d, id)
	}
	h.requireSettled("ARTICLES_TAGGED", "sink")
	info, err := h.js.Consumer(t.Context(), "ARTICLES_TAGGED", "sink")
	require.NoError(t, err)
	ci, err := info.Info(t.Context())
	require.NoError(t, err)
	require.Zero(t, ci.NumRedelivered, "held messages were never redelivered")
}

func quietRuntime(t testing.TB, cfg Config, name string) (*Runtime, *Telemetry) {
	tel := NewTelemetry()
	rt, err := New(t.Context(), cfg, Options{Name: name, Telemetry: tel, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = rt.Close() })
	return rt, tel
}

// countingConsumer runs a consumer of the normalized subject on rt whose
// handler counts what it handles, and returns the count and a publisher to
// the subject, once a first message has been handled.
func countingConsumer(t *testing.T, rt *Runtime) (*atomic.Int32, *Publisher) {
	var handled atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- rt.Consume(ctx, SubjectNormalized, "", func(context.Context, *newsflowv1.Article) (*newsflowv1.Article, error) {
			handled.Add(1)
			return nil, nil
		})
	}()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	pub, err := rt.Publisher(t.Context(), SubjectNormalized)
	require.NoError(t, err)
	require.NoError(t, pub.Publish(t.Context(), article("before")))
	require.Eventually(t, func() bool { return handled.Load() == 1 }, 10*time.Second, 10*time.Millisecond)
	return &handled, pub
}

// TestConsumptionResumesAfterServerRestart: after nats-server restarts, a
// stage handles a new message within 5 seconds of its being stored, and says
// it is not ready while the server is away.
func TestConsumptionResumesAfterServerRestart(t *testing.T) {
	srv := natstest.RunRestartable(t)
	rt, _ := quietRuntime(t, testConfig(srv.URL()), "tagger") // ack wait 5s
	handled, pub := countingConsumer(t, rt)

	for round := range 3 {
		srv.Stop()
		require.Eventually(t, func() bool { return len(rt.Health().Check(t.Context())) > 0 }, 10*time.Second, 10*time.Millisecond)
		time.Sleep(2 * time.Second)
		require.NotEmpty(t, rt.Health().Check(t.Context()), "not ready while the server is down")
		srv.Start()
		back := time.Now()
		want := handled.Load() + 1
		// The publisher's own retries (each waits up to PublishTry for
		// its ack) are not what this test is about: the consumer's clock
		// starts once the message is stored.
		pctx, pcancel := context.WithTimeout(t.Context(), 10*time.Second)
		var tries []string
		perr := pctx.Err()
		for pctx.Err() == nil {
			t0 := time.Now()
			perr = pub.Publish(pctx, article(fmt.Sprint("after", round)))
			tries = append(tries, fmt.Sprintf("at %s, took %s: %v", t0.Sub(back).Round(time.Millisecond), time.Since(t0).Round(time.Millisecond), perr))
			if perr == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		pcancel()
		stored := time.Now()
		require.NoError(t, perr, "round %d: published within 10s of the restart; tries: %q", round, tries)
		deadline := stored.Add(5 * time.Second)
		for handled.Load() < want && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		require.Equal(t, want, handled.Load(), "round %d: handled within 5s of being stored, %s after the restart; publish tries: %q", round, stored.Sub(back).Round(time.Millisecond), tries)
		t.Logf("round %d: consuming again %s after the server came back (stored at %s)", round, time.Since(back).Round(time.Millisecond), stored.Sub(back).Round(time.Millisecond))
		require.Eventually(t, func() bool { return len(rt.Health().Check(t.Context())) == 0 }, 10*time.Second, 10*time.Millisecond)
	}
}

// TestNoMessageIsLostToAPullOfTheOldConnection: messages published while
// nats-server is away (they wait in the client's buffer and go out on
// reconnect) are all handled within 3 s of the server's return, none left in
// the inbox of a pull that was given up, to wait out its 5-s ack wait. Each
// outage outlasts a pull's missed-heartbeat limit (2 s), after which the
// stage used to send a new pull into the client's buffer; with that code 3
// of 24 rounds left one or two messages behind.
func TestNoMessageIsLostToAPullOfTheOldConnection(t *testing.T) {
	srv := natstest.RunRestartable(t)
	rt, _ := quietRuntime(t, testConfig(srv.URL()), "tagger") // ack wait 5s
	handled, pub := countingConsumer(t, rt)

	const rounds, perRound = 6, 20
	want := int32(1)
	for round := range rounds {
		srv.Stop()
		require.Eventually(t, func() bool { return !rt.nc.IsConnected() }, 10*time.Second, time.Millisecond)
		time.Sleep(time.Duration(2200+round*250) * time.Millisecond)
		var pubs sync.WaitGroup
		for i := range perRound {
			pubs.Go(func() {
				id := fmt.Sprintf("r%d-%d", round, i)
				for try := 0; try < 50 && pub.Publish(t.Context(), article(id)) != nil; try++ {
					time.Sleep(100 * time.Millisecond)
				}
			})
		}
		time.Sleep(200 * time.Millisecond)
		srv.Start()
		back := time.Now()
		pubs.Wait()
		want += perRound
		for handled.Load() < want && time.Since(back) < 3*time.Second {
			time.Sleep(10 * time.Millisecond)
		}
		require.GreaterOrEqual(t, handled.Load(), want, "round %d: every message handled within 3s of the server's return", round)
		t.Logf("round %d: %d messages handled %s after the server came back", round, perRound, time.Since(back).Round(time.Millisecond))
	}
}

// TestCrashedWorkIsReclaimedPromptly: a replica that dies holding a message
// gives it back within the default ack wait (seconds, not a minute), to a
// replica started after it.
func TestCrashedWorkIsReclaimedPromptly(t *testing.T) {
	srv := natstest.RunRestartable(t)
	cfg := DefaultConfig()
	cfg.NATSURL = srv.URL()
	first, _ := quietRuntime(t, cfg, "normalizer")
	got := make(chan struct{})
	block := make(chan struct{})
	defer close(block)
	ctx1, cancel1 := context.WithCancel(context.Background())
	defer cancel1()
	go func() {
		_ = first.Consume(ctx1, SubjectFetched, "", func(context.Context, *newsflowv1.Article) (*newsflowv1.Article, error) {
			close(got)
			<-block
			return nil, nil
		})
	}()
	pub, err := first.Publisher(t.Context(), SubjectFetched)
	require.NoError(t, err)
	require.NoError(t, pub.Publish(t.Context(), article("c1")))
	<-got
	require.NoError(t, first.Close()) // the process dies: no ack, no nak
	crashed := time.Now()

	second, _ := quietRuntime(t, cfg, "normalizer")
	again := make(chan struct{}, 1)
	ctx2, cancel2 := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- second.Consume(ctx2, SubjectFetched, "", func(context.Context, *newsflowv1.Article) (*newsflowv1.Article, error) {
			again <- struct{}{}
			return nil, nil
		})
	}()
	defer func() { cancel2(); require.NoError(t, <-done) }()
	select {
	case <-again:
		t.Logf("reclaimed %s after the crash (ack wait %s)", time.Since(crashed).Round(time.Millisecond), cfg.AckWait)
	case <-time.After(cfg.AckWait + 10*time.Second):
		t.Fatalf("not redelivered within %s of the crash", cfg.AckWait+10*time.Second)
	}
	require.LessOrEqual(t, cfg.AckWait, 15*time.Second, "the default ack wait reclaims crashed work within seconds")
}

// TestLongHandlingIsNotRedelivered: a handler that runs for several ack
// waits keeps its message: no other replica gets it meanwhile.
func TestLongHandlingIsNotRedelivered(t *testing.T) {
	h := newHarness(t, "tagger")
	h.rt.cfg.AckWait = 1200 * time.Millisecond
	h.rt.cfg.HandlerTimeout = 10 * time.Second
	var calls atomic.Int32
	stop := h.run(SubjectNormalized, "", func(context.Context, *newsflowv1.Article) (*newsflowv1.Article, error) {
		calls.Add(1)
		time.Sleep(4 * time.Second)
		return nil, nil
	})
	defer stop()
	h.publish(SubjectNormalized, article("slow"))
	require.Eventually(t, func() bool { return h.tel.MessageCount("tagger", OutcomeOK) == 1 }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(1500 * time.Millisecond)
	require.Equal(t, int32(1), calls.Load())
	cons, err := h.js.Consumer(t.Context(), "ARTICLES_NORMALIZED", "tagger")
	require.NoError(t, err)
	info, err := cons.Info(t.Context())
	require.NoError(t, err)
	require.Zero(t, info.NumRedelivered)
	require.Zero(t, info.NumAckPending)
}

// TestWaitingPublisherWaitsOutFullStorage: when JetStream's storage is full
// (as on a full disk) a waiting publisher (the fetcher's) reports not ready
// and waits, without spending or dropping the article; once the operator
// makes room and restarts the server, its publish goes through. Before, the
// fetcher and the all-in-one exited on the first refused publish.
func TestWaitingPublisherWaitsOutFullStorage(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	dir := t.TempDir()
	start := func(maxStore int64) *server.Server {
		s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true,
			StoreDir: dir, JetStreamMaxStore: maxStore, NoSigs: true, NoLog: true})
		require.NoError(t, err)
		go s.Start()
		require.True(t, s.ReadyForConnections(10*time.Second))
		return s
	}
	s := start(256 << 10)
	defer func() { s.Shutdown(); s.WaitForShutdown() }()
	cfg := testConfig(s.ClientURL())
	rt, _ := quietRuntime(t, cfg, "fetcher")
	pub, err := rt.Publisher(t.Context(), SubjectFetched)
	require.NoError(t, err)
	pub = pub.Waiting()
	big := strings.Repeat("page ", 4000) // 20 KB
	const n = 40                         // 800 KB: over the 256 KB of storage
	done := make(chan error, 1)
	go func() {
		for i := range n {
			a := article(fmt.Sprint("full", i))
			a.Fetch = &newsflowv1.Fetch{Body: []byte(big)}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			err := pub.Publish(ctx, a)
			cancel()
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	require.Eventually(t, func() bool { return rt.Health().Check(t.Context())["fetcher/publish"] != nil }, 10*time.Second, 10*time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("the publisher gave up on a full store: %v", err)
	case <-time.After(2 * time.Second):
	}
	// The operator makes room (here: a larger limit) and restarts NATS.
	s.Shutdown()
	s.WaitForShutdown()
	s = start(64 << 20)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(60 * time.Second):
		t.Fatalf("publishing did not resume once there was room: %v", rt.Health().Check(t.Context()))
	}
	require.Eventually(t, func() bool { return len(rt.Health().Check(t.Context())) == 0 }, 10*time.Second, 10*time.Millisecond)
	str, err := rt.JetStream().Stream(t.Context(), StreamFor(SubjectFetched))
	require.NoError(t, err)
	info, err := str.Info(t.Context())
	require.NoError(t, err)
	require.Equal(t, uint64(n), info.State.Msgs, "every article stored once")
}
