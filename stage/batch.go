package stage

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
)

// BatchHandler handles several articles at once, for a stage that writes
// them together (the sink: one database transaction per batch). It returns
// one error per article, in the order given, each meaning what a Handler's
// error means: nil or ErrDuplicate acks, a PermanentError dead-letters, any
// other error naks with a growing delay. A batch stage publishes nothing.
type BatchHandler func(ctx context.Context, as []*newsflowv1.Article) []error

// Batch bounds the batches ConsumeBatch hands to its handler.
type Batch struct {
	// Size is the most articles in one batch.
	Size int
	// Wait is the longest a batch waits, from its first message, to fill.
	Wait time.Duration
}

// ConsumeBatch is Consume for a BatchHandler: each of cfg.Workers workers
// gathers up to b.Size messages, or what arrived within b.Wait of the first,
// runs h over them once, and then settles each message as its error says. A
// message is acked only after h has returned for its whole batch.
func (r *Runtime) ConsumeBatch(ctx context.Context, input string, b Batch, h BatchHandler) error {
	if b.Size < 1 || b.Wait <= 0 {
		return fmt.Errorf("consume %s: batch size must be at least 1 and wait positive, got %d and %s", input, b.Size, b.Wait)
	}
	return r.consume(ctx, input, "", max(r.cfg.Workers, b.Size), func(jobs <-chan jetstream.Msg, done func(int)) {
		for {
			m, ok := <-jobs
			if !ok {
				return
			}
			batch := []jetstream.Msg{m}
			timer := time.NewTimer(b.Wait)
		fill:
			for len(batch) < b.Size {
				select {
				case m, ok := <-jobs:
					if !ok {
						break fill
					}
					batch = append(batch, m)
				case <-timer.C:
					break fill
				}
			}
			timer.Stop()
			r.handleBatch(ctx, batch, h)
			done(len(batch))
		}
	})
}

// handleBatch runs the decodable messages of ms through h and settles each.
// Articles that failed because a dependency is unavailable are held and
// tried again, as a batch, until they go through or ctx ends.
func (r *Runtime) handleBatch(ctx context.Context, ms []jetstream.Msg, h BatchHandler) {
	defer r.track(time.Now(), len(ms))()
	type received struct {
		m         jetstream.Msg
		delivered uint64
	}
	var got []received
	var arts []*newsflowv1.Article
	for _, m := range ms {
		if a, delivered, ok := r.receive(m); ok {
			got = append(got, received{m, delivered})
			arts = append(arts, a)
		}
	}
	if len(arts) == 0 {
		return
	}
	defer r.keepInProgress(ms...)()
	for attempt := uint64(1); ; attempt++ {
		hctx, cancel := context.WithTimeout(context.Background(), r.cfg.HandlerTimeout)
		errs := callBatch(hctx, h, arts)
		cancel()
		var heldGot []received
		var heldArts []*newsflowv1.Article
		var cause error
		for i, g := range got {
			if errors.Is(errs[i], ErrUnavailable) {
				heldGot = append(heldGot, g)
				heldArts = append(heldArts, arts[i])
				cause = errs[i]
				continue
			}
			r.settle(g.m, arts[i], errs[i], false, g.delivered)
		}
		if len(heldGot) == 0 {
			return
		}
		if !r.hold(ctx, cause, attempt) {
			for i, g := range heldGot {
				r.settle(g.m, heldArts[i], cause, false, g.delivered)
			}
			return
		}
		got, arts = heldGot, heldArts
	}
}

// callBatch runs h, turning a panic into a permanent error for every
// article, and a wrong number of results into a transient one.
func callBatch(ctx context.Context, h BatchHandler, as []*newsflowv1.Article) (errs []error) {
	all := func(err error) []error {
		out := make([]error, len(as))
		for i := range out {
			out[i] = err
		}
		return out
	}
	defer func() {
		if p := recover(); p != nil {
			errs = all(Permanentf("panic", "batch handler panicked: %v\n%s", p, debug.Stack()))
		}
	}()
	errs = h(ctx, as)
	if len(errs) != len(as) {
		return all(fmt.Errorf("batch handler returned %d results for %d articles", len(errs), len(as)))
	}
	return errs
}
