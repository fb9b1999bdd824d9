package stage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
)

// runBatch starts ConsumeBatch on articles.tagged in the background.
func (h *harness) runBatch(b Batch, hd BatchHandler) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.rt.ConsumeBatch(ctx, SubjectTagged, b, hd) }()
	return func() {
		cancel()
		require.NoError(h.t, <-done)
	}
}

func TestConsumeBatchGathersAndSettlesEachMessage(t *testing.T) {
	h := newHarness(t, "sink")
	var mu sync.Mutex
	var sizes []int
	failedOnce := map[string]bool{}
	// Published before the consumer starts, so they are all waiting when it
	// pulls.
	for _, id := range []string{"a1", "a2", "poison", "again", "flaky", "a3", "a4"} {
		h.publish(SubjectTagged, article(id))
	}
	stop := h.runBatch(Batch{Size: 5, Wait: 300 * time.Millisecond}, func(_ context.Context, as []*newsflowv1.Article) []error {
		mu.Lock()
		defer mu.Unlock()
		sizes = append(sizes, len(as))
		errs := make([]error, len(as))
		for i, a := range as {
			switch a.GetId() {
			case "poison":
				errs[i] = Permanentf("store", "cannot store %s", a.GetId())
			case "again":
				errs[i] = ErrDuplicate
			case "flaky":
				if !failedOnce[a.GetId()] {
					failedOnce[a.GetId()] = true
					errs[i] = errors.New("store down")
				}
			}
		}
		return errs
	})
	defer stop()
	require.Eventually(t, func() bool {
		return h.tel.MessageCount("sink", OutcomeOK)+h.tel.MessageCount("sink", OutcomeDuplicate) == 6 &&
			h.tel.MessageCount("sink", OutcomeDeadLettered) == 1
	}, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, float64(5), h.tel.MessageCount("sink", OutcomeOK))
	require.Equal(t, float64(1), h.tel.MessageCount("sink", OutcomeDuplicate))
	require.Equal(t, float64(1), h.tel.MessageCount("sink", OutcomeRetried))
	dead := h.get(SubjectDeadPrefix+"sink", 1)
	require.Equal(t, "store", dead.Header.Get(HeaderDeadReason))
	require.Equal(t, "poison", dead.Header.Get(HeaderArticleID))

	mu.Lock()
	total := 0
	for _, n := range sizes {
		require.LessOrEqual(t, n, 5)
		total += n
	}
	require.Equal(t, 8, total, "seven messages and one redelivery: %v", sizes)
	// Two workers gather at once, so which batch comes first, and its size,
	// depend on the scheduler; that messages waiting together share a batch
	// does not.
	require.Greater(t, slices.Max(sizes), 1, "messages published together share a batch: %v", sizes)
	// newsflow_batch_messages counts every batch and its messages.
	var m dto.Metric
	require.NoError(t, h.tel.batch.WithLabelValues("sink").(prometheus.Metric).Write(&m))
	require.Equal(t, uint64(len(sizes)), m.GetHistogram().GetSampleCount())
	require.Equal(t, float64(total), m.GetHistogram().GetSampleSum())
	mu.Unlock()

	h.requireSettled("ARTICLES_TAGGED", "sink")
}

func TestConsumeBatchHandlerFaults(t *testing.T) {
	tests := []struct {
		name    string
		handler BatchHandler
		want    string // outcome of the one message
	}{
		{"panic", func(context.Context, []*newsflowv1.Article) []error { panic("boom") }, OutcomeDeadLettered},
		{"wrong result count", func(context.Context, []*newsflowv1.Article) []error { return nil }, OutcomeRetried},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "sink")
			stop := h.runBatch(Batch{Size: 10, Wait: 10 * time.Millisecond}, tc.handler)
			defer stop()
			h.publish(SubjectTagged, article("x"))
			require.Eventually(t, func() bool { return h.tel.MessageCount("sink", tc.want) >= 1 }, 10*time.Second, 10*time.Millisecond)
		})
	}
}

func TestConsumeBatchRejectsBadBounds(t *testing.T) {
	h := newHarness(t, "sink")
	for _, b := range []Batch{{Size: 0, Wait: time.Second}, {Size: 10}} {
		err := h.rt.ConsumeBatch(t.Context(), SubjectTagged, b, nil)
		require.ErrorContains(t, err, "batch size", fmt.Sprint(b))
	}
}

func TestHealthStatus(t *testing.T) {
	hl := NewHealth()
	report := hl.Status("sink/store")
	srv := httptest.NewServer(Mux(NewTelemetry().Registry, hl, false))
	defer srv.Close()
	status := func() int {
		resp, err := http.Get(srv.URL + "/readyz")
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, status(), "ready until a failure is reported")
	report(errors.New("connection refused"))
	require.Equal(t, http.StatusServiceUnavailable, status())
	report(nil)
	require.Equal(t, http.StatusOK, status())
}

// TestGatherHandsOnOnceMessagesStop: a batch takes what comes close
// together, and is handed on when messages stop, not after its full wait.
func TestGatherHandsOnOnceMessagesStop(t *testing.T) {
	jobs := make(chan jetstream.Msg)
	go func() {
		for range 3 {
			jobs <- nil
		}
	}()
	began := time.Now()
	got := 0
	for got < 3 {
		batch, ok := gather(jobs, Batch{Size: 10, Wait: time.Minute}, time.Time{})
		require.True(t, ok)
		got += len(batch)
	}
	require.Less(t, time.Since(began), 30*time.Second, "handed on when the messages stopped")

	// Full batches while messages keep coming, and what is left at the close.
	go func() {
		for range 25 {
			jobs <- nil
		}
		close(jobs)
	}()
	var sizes []int
	for {
		batch, ok := gather(jobs, Batch{Size: 10, Wait: time.Minute}, time.Time{})
		if !ok {
			break
		}
		sizes = append(sizes, len(batch))
	}
	sum := 0
	for _, n := range sizes {
		require.LessOrEqual(t, n, 10)
		sum += n
	}
	require.Equal(t, 25, sum)
}

// TestConsumeBatchWriters: Batch.Writers bounds the batches handled at
// once, whatever the stage's -workers (2 here); 0 leaves it to -workers.
func TestConsumeBatchWriters(t *testing.T) {
	for _, tc := range []struct {
		writers, want int
	}{{1, 1}, {0, 2}} {
		t.Run(fmt.Sprint("writers ", tc.writers), func(t *testing.T) {
			h := newHarness(t, "sink")
			require.Equal(t, 2, h.rt.Config().Workers)
			for i := range 12 {
				h.publish(SubjectTagged, article(fmt.Sprint("w", i)))
			}
			var mu sync.Mutex
			now, most, done := 0, 0, 0
			stop := h.runBatch(Batch{Size: 1, Wait: time.Millisecond, Writers: tc.writers}, func(_ context.Context, as []*newsflowv1.Article) []error {
				mu.Lock()
				now++
				most = max(most, now)
				mu.Unlock()
				time.Sleep(50 * time.Millisecond) // long enough for the other worker to start one
				mu.Lock()
				now--
				done += len(as)
				mu.Unlock()
				return make([]error, len(as))
			})
			defer stop()
			require.Eventually(t, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return done == 12
			}, 10*time.Second, 10*time.Millisecond)
			mu.Lock()
			defer mu.Unlock()
			require.Equal(t, tc.want, most)
		})
	}
}

// TestConsumeBatchEvery: with Batch.Every, messages that trickle in (one
// every 20 ms, four times batchGap) are written in batches no closer
// together than Every; a message after a pause is handed on at once.
func TestConsumeBatchEvery(t *testing.T) {
	const every = 500 * time.Millisecond
	h := newHarness(t, "sink")
	var mu sync.Mutex
	var began []time.Time
	var sizes []int
	stop := h.runBatch(Batch{Size: 100, Wait: time.Minute, Every: every, Writers: 1}, func(_ context.Context, as []*newsflowv1.Article) []error {
		mu.Lock()
		defer mu.Unlock()
		began = append(began, time.Now())
		sizes = append(sizes, len(as))
		return make([]error, len(as))
	})
	defer stop()
	handled := func() float64 { return h.tel.MessageCount("sink", OutcomeOK) }
	for i := range 30 {
		h.publish(SubjectTagged, article(fmt.Sprint("t", i)))
		time.Sleep(20 * time.Millisecond)
	}
	require.Eventually(t, func() bool { return handled() == 30 }, 10*time.Second, 10*time.Millisecond)
	mu.Lock()
	for i := 1; i < len(began); i++ {
		// Each batch is handed on Every after the last was, and its
		// handler starts a moment after that (half of Every allowed for
		// a busy machine; without Every they are 20 ms apart).
		require.GreaterOrEqual(t, began[i].Sub(began[i-1]), every/2, "batches %v", sizes)
	}
	require.Less(t, len(sizes), 10, "trickling messages share batches: %v", sizes)
	mu.Unlock()

	// After a pause longer than Every, a message does not wait for it.
	time.Sleep(2 * every)
	published := time.Now()
	h.publish(SubjectTagged, article("after-pause"))
	require.Eventually(t, func() bool { return handled() == 31 }, 10*time.Second, time.Millisecond)
	require.Less(t, time.Since(published), every, "a message after a pause is handed on at once")
	h.requireSettled("ARTICLES_TAGGED", "sink")
}
