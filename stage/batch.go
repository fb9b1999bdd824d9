package stage

import (
	"context"
	"fmt"
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
	return r.consume(ctx, input, "", b, max(r.cfg.Workers, b.Size), func(ctx context.Context, _ time.Time, as []*newsflowv1.Article) []error {
		return h(ctx, as)
	})
}

// gather takes the next batch from jobs: up to b.Size messages, those
// that arrived within b.Wait of the first; a batch of one is handed on at
// once. ok is false once jobs is closed and empty.
func gather(jobs <-chan jetstream.Msg, b Batch) (batch []jetstream.Msg, ok bool) {
	m, ok := <-jobs
	if !ok {
		return nil, false
	}
	batch = []jetstream.Msg{m}
	if b.Size <= 1 {
		return batch, true
	}
	timer := time.NewTimer(b.Wait)
	defer timer.Stop()
	for len(batch) < b.Size {
		select {
		case m, ok := <-jobs:
			if !ok {
				return batch, true
			}
			batch = append(batch, m)
		case <-timer.C:
			return batch, true
		}
	}
	return batch, true
}
