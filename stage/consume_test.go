package stage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/stage/natstest"
)

// testConfig is a runtime configuration with short retry delays.
func testConfig(url string) Config {
	c := DefaultConfig()
	c.NATSURL = url
	c.Workers = 2
	c.MaxDeliver = 3
	c.RetryBase = 10 * time.Millisecond
	c.RetryMax = 50 * time.Millisecond
	c.AckWait = 5 * time.Second
	c.HandlerTimeout = 2 * time.Second
	c.ShutdownTimeout = 5 * time.Second
	return c
}

type harness struct {
	t   *testing.T
	tel *Telemetry
	rt  *Runtime
	js  jetstream.JetStream
}

func newHarness(t *testing.T, name string) *harness {
	t.Helper()
	s := natstest.Run(t)
	tel := NewTelemetry()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rt, err := New(t.Context(), testConfig(s.ClientURL()), Options{Name: name, Telemetry: tel, Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() { _ = rt.Close() })
	return &harness{t: t, tel: tel, rt: rt, js: natstest.JetStream(t, s)}
}

// run starts Consume in the background and returns a function that stops it
// and waits for it to return.
func (h *harness) run(input, output string, hd Handler) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.rt.Consume(ctx, input, output, hd) }()
	return func() {
		cancel()
		require.NoError(h.t, <-done)
	}
}

func (h *harness) publish(subject string, a *newsflowv1.Article) {
	pub, err := h.rt.Publisher(h.t.Context(), subject)
	require.NoError(h.t, err)
	require.NoError(h.t, pub.Publish(h.t.Context(), a))
}

// get waits for message seq of subject's stream.
func (h *harness) get(subject string, seq uint64) jetstream.RawStreamMsg {
	h.t.Helper()
	var msg *jetstream.RawStreamMsg
	require.Eventually(h.t, func() bool {
		s, err := h.js.Stream(h.t.Context(), StreamFor(subject))
		if err != nil {
			return false
		}
		msg, err = s.GetMsg(h.t.Context(), seq)
		return err == nil
	}, 10*time.Second, 10*time.Millisecond)
	return *msg
}

// requireSettled checks that the consumer has nothing pending or unacked,
// waiting a moment for acks on their way: a handler's outcome is counted
// before its ack reaches the server.
func (h *harness) requireSettled(stream, consumer string) {
	h.t.Helper()
	cons, err := h.js.Consumer(h.t.Context(), stream, consumer)
	require.NoError(h.t, err)
	var info *jetstream.ConsumerInfo
	require.Eventually(h.t, func() bool {
		info, err = cons.Info(h.t.Context())
		return err == nil && info.NumAckPending == 0 && info.NumPending == 0
	}, 5*time.Second, 10*time.Millisecond, "consumer %s settled", consumer)
	require.NoError(h.t, err)
}

func article(id string) *newsflowv1.Article {
	return &newsflowv1.Article{Id: id, Url: "https://example.com/" + id, ContentHash: "h-" + id}
}

func TestConsumePublishesOutputAndAcks(t *testing.T) {
	h := newHarness(t, "normalizer")
	h.rt.SetVersion("v9+rules")
	stop := h.run(SubjectFetched, SubjectNormalized, func(_ context.Context, a *newsflowv1.Article) (*newsflowv1.Article, error) {
		a.Normalized = &newsflowv1.Normalized{Title: strings.ToUpper(a.GetId())}
		return a, nil
	})
	defer stop()
	h.publish(SubjectFetched, article("a1"))

	raw := h.get(SubjectNormalized, 1)
	var out newsflowv1.Article
	require.NoError(t, proto.Unmarshal(raw.Data, &out))
	require.Equal(t, "A1", out.GetNormalized().GetTitle())
	require.Len(t, out.GetTrace(), 1)
	require.Equal(t, "normalizer", out.GetTrace()[0].GetStage())
	require.Equal(t, "v9+rules", out.GetTrace()[0].GetVersion())
	require.Equal(t, 1.0, testutil.ToFloat64(h.tel.versionInfo.WithLabelValues("normalizer", "v9+rules")))
	require.Equal(t, "a1:h-a1:normalizer", raw.Header.Get(jetstream.MsgIDHeader))
	require.Eventually(t, func() bool { return h.tel.MessageCount("normalizer", OutcomeOK) == 1 }, 10*time.Second, 10*time.Millisecond)
}

// TestInputSeq: a handler learns the stream sequence of the message it
// handles, and fetching that sequence gives the message back.
func TestInputSeq(t *testing.T) {
	h := newHarness(t, "tagger")
	var mu sync.Mutex
	seqs := map[string]uint64{}
	stop := h.run(SubjectNormalized, SubjectTagged, func(ctx context.Context, a *newsflowv1.Article) (*newsflowv1.Article, error) {
		mu.Lock()
		defer mu.Unlock()
		seqs[a.GetId()] = InputSeq(ctx)
		return a, nil
	})
	defer stop()
	for _, id := range []string{"s1", "s2", "s3"} {
		h.publish(SubjectNormalized, article(id))
	}
	h.get(SubjectTagged, 3)
	require.Zero(t, InputSeq(t.Context()))
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seqs, 3)
	for id, seq := range seqs {
		require.NotZero(t, seq, id)
		raw := h.get(SubjectNormalized, seq)
		a, err := DecodeArticle(raw.Data)
		require.NoError(t, err)
		require.Equal(t, id, a.GetId())
	}
}

func TestTransientErrorsAreRetriedThenSucceed(t *testing.T) {
	h := newHarness(t, "tagger")
	var calls atomic.Int32
	stop := h.run(SubjectNormalized, SubjectTagged, func(_ context.Context, a *newsflowv1.Article) (*newsflowv1.Article, error) {
		if calls.Add(1) < 3 {
			return nil, errors.New("store hiccup")
		}
		return a, nil
	})
	defer stop()
	h.publish(SubjectNormalized, article("t1"))
	h.get(SubjectTagged, 1)
	require.Eventually(t, func() bool { return h.tel.MessageCount("tagger", OutcomeOK) == 1 }, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, float64(2), h.tel.MessageCount("tagger", OutcomeRetried))
	require.Equal(t, int32(3), calls.Load())
}

func TestDeadLetters(t *testing.T) {
	tests := []struct {
		name    string
		handler Handler
		data    []byte // raw payload instead of a valid article
		reason  string
		errPart string
		calls   int32
	}{
		{
			name: "permanent error",
			handler: func(context.Context, *newsflowv1.Article) (*newsflowv1.Article, error) {
				return nil, Permanentf("empty_extraction", "no text in page")
			},
			reason: "empty_extraction", errPart: "no text in page", calls: 1,
		},
		{
			name: "deliveries exhausted",
			handler: func(context.Context, *newsflowv1.Article) (*newsflowv1.Article, error) {
				return nil, errors.New("still down")
			},
			reason: "max_deliver", errPart: "still down", calls: 3,
		},
		{
			name: "panic",
			handler: func(context.Context, *newsflowv1.Article) (*newsflowv1.Article, error) {
				panic("boom")
			},
			reason: "panic", errPart: "boom", calls: 1,
		},
		{
			name:   "undecodable payload",
			data:   []byte{0xff, 0xff, 0xff},
			reason: "decode", errPart: "decode article", calls: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "normalizer")
			var calls atomic.Int32
			stop := h.run(SubjectFetched, SubjectNormalized, func(ctx context.Context, a *newsflowv1.Article) (*newsflowv1.Article, error) {
				calls.Add(1)
				return tc.handler(ctx, a)
			})
			defer stop()
			if tc.data != nil {
				_, err := h.rt.Publisher(t.Context(), SubjectFetched)
				require.NoError(t, err)
				_, err = h.js.Publish(t.Context(), SubjectFetched, tc.data)
				require.NoError(t, err)
			} else {
				h.publish(SubjectFetched, article("d1"))
			}
			dead := h.get(SubjectDeadPrefix+"normalizer", 1)
			require.Equal(t, tc.reason, dead.Header.Get(HeaderDeadReason))
			require.Contains(t, dead.Header.Get(HeaderDeadError), tc.errPart)
			require.Equal(t, "normalizer", dead.Header.Get(HeaderDeadStage))
			require.Equal(t, "ARTICLES_FETCHED:1", dead.Header.Get(HeaderDeadSource))
			if tc.data != nil {
				require.Equal(t, tc.data, dead.Data)
			} else {
				require.Equal(t, "d1", dead.Header.Get(HeaderArticleID))
			}
			require.Eventually(t, func() bool { return h.tel.MessageCount("normalizer", OutcomeDeadLettered) == 1 }, 10*time.Second, 10*time.Millisecond)
			// Terminated: never delivered again.
			time.Sleep(200 * time.Millisecond)
			require.Equal(t, tc.calls, calls.Load())
			h.requireSettled("ARTICLES_FETCHED", "normalizer")
		})
	}
}

func TestRedeliveryOfSameOutputIsDuplicate(t *testing.T) {
	h := newHarness(t, "normalizer")
	stop := h.run(SubjectFetched, SubjectNormalized, func(_ context.Context, a *newsflowv1.Article) (*newsflowv1.Article, error) {
		return a, nil
	})
	defer stop()
	// The same article published twice under different ids upstream (as
	// after a crash between publish and ack) yields one output message.
	_, err := h.rt.Publisher(t.Context(), SubjectFetched)
	require.NoError(t, err)
	data, err := proto.Marshal(article("x1"))
	require.NoError(t, err)
	for i := range 2 {
		_, err := h.js.PublishMsg(t.Context(), &nats.Msg{Subject: SubjectFetched, Data: data}, jetstream.WithMsgID(fmt.Sprint("up-", i)))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		return h.tel.MessageCount("normalizer", OutcomeOK)+h.tel.MessageCount("normalizer", OutcomeDuplicate) == 2
	}, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, float64(1), h.tel.MessageCount("normalizer", OutcomeDuplicate))
	s, err := h.js.Stream(t.Context(), "ARTICLES_NORMALIZED")
	require.NoError(t, err)
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	require.Equal(t, uint64(1), info.State.Msgs)
}

func TestShutdownFinishesInFlightWork(t *testing.T) {
	h := newHarness(t, "sink")
	started := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	var handled atomic.Int32
	stop := h.run(SubjectTagged, "", func(context.Context, *newsflowv1.Article) (*newsflowv1.Article, error) {
		once.Do(func() { close(started) })
		<-release
		handled.Add(1)
		return nil, nil
	})
	h.publish(SubjectTagged, article("s1"))
	<-started
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("Consume returned before in-flight work finished")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	<-stopped
	require.Equal(t, int32(1), handled.Load())
	cons, err := h.js.Consumer(t.Context(), "ARTICLES_TAGGED", "sink")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		info, err := cons.Info(t.Context())
		return err == nil && info.NumAckPending == 0 && info.NumPending == 0
	}, 10*time.Second, 10*time.Millisecond)
}

func TestOversizeOutputIsDeadLettered(t *testing.T) {
	h := newHarness(t, "normalizer")
	big := strings.Repeat("x", int(h.rt.Conn().MaxPayload()))
	stop := h.run(SubjectFetched, SubjectNormalized, func(_ context.Context, a *newsflowv1.Article) (*newsflowv1.Article, error) {
		a.Normalized = &newsflowv1.Normalized{Text: big}
		return a, nil
	})
	defer stop()
	h.publish(SubjectFetched, article("o1"))
	dead := h.get(SubjectDeadPrefix+"normalizer", 1)
	require.Equal(t, "oversize", dead.Header.Get(HeaderDeadReason))
	require.Contains(t, dead.Header.Get(HeaderDeadError), "payload limit")
}

func TestConsumerDeletedIsRecreated(t *testing.T) {
	h := newHarness(t, "sink")
	var calls atomic.Int32
	stop := h.run(SubjectTagged, "", func(context.Context, *newsflowv1.Article) (*newsflowv1.Article, error) {
		calls.Add(1)
		return nil, nil
	})
	defer stop()
	h.publish(SubjectTagged, article("a"))
	require.Eventually(t, func() bool { return calls.Load() == 1 }, 10*time.Second, 10*time.Millisecond)

	require.NoError(t, h.js.DeleteConsumer(t.Context(), "ARTICLES_TAGGED", "sink"))
	h.publish(SubjectTagged, article("b"))
	require.Eventually(t, func() bool { return calls.Load() >= 2 }, 10*time.Second, 10*time.Millisecond)
	_, err := h.js.Consumer(t.Context(), "ARTICLES_TAGGED", "sink")
	require.NoError(t, err, "the consumer exists again")
	require.Empty(t, h.rt.Health().Check(t.Context()), "ready again once consuming")
}

func TestOversizeDeadLetterKeepsHeadersOnly(t *testing.T) {
	h := newHarness(t, "normalizer")
	stop := h.run(SubjectFetched, SubjectNormalized, func(_ context.Context, a *newsflowv1.Article) (*newsflowv1.Article, error) {
		return a, nil
	})
	defer stop()
	_, err := h.rt.Publisher(t.Context(), SubjectFetched)
	require.NoError(t, err)
	// An undecodable payload just under the limit: with the dead-letter
	// headers it no longer fits.
	junk := []byte(strings.Repeat("\xff", int(h.rt.Conn().MaxPayload())-512))
	_, err = h.js.Publish(t.Context(), SubjectFetched, junk)
	require.NoError(t, err)
	dead := h.get(SubjectDeadPrefix+"normalizer", 1)
	require.Equal(t, "decode", dead.Header.Get(HeaderDeadReason))
	require.Contains(t, dead.Header.Get(HeaderDeadPayload), "omitted")
	require.Empty(t, dead.Data)
	require.Equal(t, "ARTICLES_FETCHED:1", dead.Header.Get(HeaderDeadSource))
	require.Eventually(t, func() bool { return h.tel.MessageCount("normalizer", OutcomeDeadLettered) == 1 }, 10*time.Second, 10*time.Millisecond)
	require.Zero(t, h.tel.MessageCount("normalizer", OutcomeRetried))
}

// TestBufferedMessagesAreNotRedelivered: messages waiting in the client's
// buffer for a busy worker must not run out their ack wait and be handled
// twice.
func TestBufferedMessagesAreNotRedelivered(t *testing.T) {
	h := newHarness(t, "sink")
	h.rt.cfg.Workers = 1
	h.rt.cfg.AckWait = 1200 * time.Millisecond
	h.rt.cfg.HandlerTimeout = 500 * time.Millisecond
	var calls atomic.Int32
	stop := h.run(SubjectTagged, "", func(context.Context, *newsflowv1.Article) (*newsflowv1.Article, error) {
		calls.Add(1)
		time.Sleep(600 * time.Millisecond)
		return nil, nil
	})
	defer stop()
	for i := range 6 {
		h.publish(SubjectTagged, article(fmt.Sprint("buf", i)))
	}
	require.Eventually(t, func() bool { return h.tel.MessageCount("sink", OutcomeOK) == 6 }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(time.Second) // a redelivery would arrive within one ack wait
	require.Equal(t, int32(6), calls.Load())
}

// TestMessagesHandledAtOnceAreNotMarkedInProgress: a message pulled for a
// free worker and handled at once costs the server one ack, not an ack and
// a progress mark; one that waited in the client past a quarter of the ack
// wait is marked (TestBufferedMessagesAreNotRedelivered).
func TestMessagesHandledAtOnceAreNotMarkedInProgress(t *testing.T) {
	h := newHarness(t, "sink")
	var acks, progress atomic.Int32
	sub, err := h.js.Conn().Subscribe("$JS.ACK.>", func(m *nats.Msg) {
		switch string(m.Data) {
		case "+ACK":
			acks.Add(1)
		case "+WPI":
			progress.Add(1)
		}
	})
	require.NoError(t, err)
	defer sub.Unsubscribe()
	stop := h.run(SubjectTagged, "", func(context.Context, *newsflowv1.Article) (*newsflowv1.Article, error) { return nil, nil })
	defer stop()
	for i := range 20 {
		h.publish(SubjectTagged, article(fmt.Sprint("p", i)))
	}
	require.Eventually(t, func() bool { return acks.Load() == 20 }, 10*time.Second, 10*time.Millisecond)
	require.Zero(t, progress.Load())
}

// TestReplayIsANewMessage: within the duplicate window, the same article
// sent again is dropped, but a replay of it (Article.replay set) goes
// through the stage again, its output carries the generation, and the same
// replay sent twice is dropped.
func TestReplayIsANewMessage(t *testing.T) {
	h := newHarness(t, "normalizer")
	var calls atomic.Int32
	stop := h.run(SubjectFetched, SubjectNormalized, func(_ context.Context, a *newsflowv1.Article) (*newsflowv1.Article, error) {
		calls.Add(1)
		return a, nil
	})
	defer stop()
	inputMsgs := func() uint64 {
		s, err := h.js.Stream(t.Context(), StreamFor(SubjectFetched))
		require.NoError(t, err)
		info, err := s.Info(t.Context())
		require.NoError(t, err)
		return info.State.Msgs
	}
	a := article("r1")
	h.publish(SubjectFetched, a)
	h.publish(SubjectFetched, a)
	require.Equal(t, uint64(1), inputMsgs(), "a re-send is dropped")
	h.get(SubjectNormalized, 1) // the first pass is through: the replay's output comes next

	a.Replay = "r20261204"
	h.publish(SubjectFetched, a)
	h.publish(SubjectFetched, a)
	require.Equal(t, uint64(2), inputMsgs(), "a replay is new; its re-send is dropped")

	raw := h.get(SubjectNormalized, 2)
	require.Equal(t, "r1:h-r1:normalizer:r20261204", raw.Header.Get(jetstream.MsgIDHeader))
	var out newsflowv1.Article
	require.NoError(t, proto.Unmarshal(raw.Data, &out))
	require.Equal(t, "r20261204", out.GetReplay(), "the generation travels on")
	require.Eventually(t, func() bool { return h.tel.MessageCount("normalizer", OutcomeOK) == 2 }, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, int32(2), calls.Load())
}

// TestDeadLetterKeepsBothIDs: a stage that re-keyed the article before it
// failed (the normalizer, by the page's canonical URL) dead-letters it
// under the new id, keeping the id the message carried.
func TestDeadLetterKeepsBothIDs(t *testing.T) {
	h := newHarness(t, "normalizer")
	stop := h.run(SubjectFetched, SubjectNormalized, func(_ context.Context, a *newsflowv1.Article) (*newsflowv1.Article, error) {
		a.Id = "canonical-" + a.GetId()
		return nil, Permanentf("empty_extraction", "no text")
	})
	defer stop()
	h.publish(SubjectFetched, article("k1"))
	dead := h.get(SubjectDeadPrefix+"normalizer", 1)
	d := ParseDeadLetter(dead.Header, dead.Data)
	require.Equal(t, "canonical-k1", d.ArticleID)
	require.Equal(t, "k1", d.InputID)
	require.Equal(t, "k1", d.Article.GetId(), "the payload is the original")
}

// TestStopBeforeStartIsClean: a stage stopped before its consumer exists
// (a signal during start-up) returns no error; there is nothing to drain.
// It made the sink's dead-letter test fail now and then.
func TestStopBeforeStartIsClean(t *testing.T) {
	h := newHarness(t, "normalizer")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	handler := func(_ context.Context, a *newsflowv1.Article) (*newsflowv1.Article, error) { return a, nil }
	require.NoError(t, h.rt.Consume(ctx, SubjectFetched, SubjectNormalized, handler))
	require.NoError(t, h.rt.ConsumeBatch(ctx, SubjectFetched, Batch{Size: 10, Wait: time.Millisecond},
		func(context.Context, []*newsflowv1.Article) []error { return nil }))
}

// TestABacklogIsPulledAheadOfTheWorkers: a stage pulls for its free
// workers and as many messages again, so that a worker that finishes finds
// the next message in the client instead of waiting for a pull of one; a
// backlog then costs about one pull request per -workers messages instead
// of one a message (pull requests were a fifth of what the normalizer and
// the tagger sent NATS under load, TestLoad).
func TestABacklogIsPulledAheadOfTheWorkers(t *testing.T) {
	h := newHarness(t, "normalizer")
	require.Equal(t, 2, h.rt.cfg.Workers)
	const n = 60
	for i := range n {
		h.publish(SubjectFetched, article(fmt.Sprint("b", i)))
	}
	var pulls atomic.Int32
	sub, err := h.js.Conn().Subscribe("$JS.API.CONSUMER.MSG.NEXT.>", func(*nats.Msg) { pulls.Add(1) })
	require.NoError(t, err)
	defer sub.Unsubscribe()
	require.NoError(t, h.js.Conn().Flush())
	stop := h.run(SubjectFetched, "", func(context.Context, *newsflowv1.Article) (*newsflowv1.Article, error) {
		time.Sleep(5 * time.Millisecond)
		return nil, nil
	})
	defer stop()
	require.Eventually(t, func() bool { return h.tel.MessageCount("normalizer", OutcomeOK) == n }, 10*time.Second, 10*time.Millisecond)
	t.Logf("%d pull requests for %d messages", pulls.Load(), n)
	require.LessOrEqual(t, int(pulls.Load()), n/2+2)
}
