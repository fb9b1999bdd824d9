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
	// Writers is how many batches are handled at once; 0 means the
	// stage's -workers. A store with one writer (SQLite) gains nothing
	// from more: its batches would only wait for each other, and get
	// smaller, since the workers gather from one stream of messages.
	Writers int
	// Every, when positive, spaces one writer's batches while messages
	// keep coming: a batch is handed on no sooner than Every after the
	// writer's last one was, unless it is full or its Wait is up. A
	// store whose commit has a large fixed cost writes fewer, fuller
	// batches when messages trickle in, for at most Every of latency;
	// a message that comes after a pause is handed on as before.
	Every time.Duration
}

// ConsumeBatch is Consume for a BatchHandler: each of cfg.Workers workers
// gathers up to b.Size messages, those that came close together within
// b.Wait of the first (see gather), runs h over them once, and then settles each message as its error says. A
// message is acked only after h has returned for its whole batch.
func (r *Runtime) ConsumeBatch(ctx context.Context, input string, b Batch, h BatchHandler) error {
	if b.Size < 1 || b.Wait <= 0 {
		return fmt.Errorf("consume %s: batch size must be at least 1 and wait positive, got %d and %s", input, b.Size, b.Wait)
	}
	return r.consume(ctx, input, "", b, max(r.workers(b), b.Size), func(ctx context.Context, _ time.Time, as []*newsflowv1.Article) []error {
		return h(ctx, as)
	})
}

// workers is how many workers consume with b.
func (r *Runtime) workers(b Batch) int {
	if b.Writers > 0 {
		return b.Writers
	}
	return r.cfg.Workers
}

// batchGap is how long a batch waits for the next message: under a
// backlog messages come back to back and batches fill; when they trickle
// in, a batch is handed on once none came for batchGap, instead of every
// message waiting Batch.Wait for others that are not coming (the sink's
// 100 ms were most of fetch→stored at half load, TestLoad).
const batchGap = 5 * time.Millisecond

// gather takes the next batch from jobs: the first message, then those
// that follow it within batchGap of each other (and all that come before
// notBefore), up to b.Size and for at most b.Wait from the first; a batch
// of one is handed on at once. ok is false once jobs is closed and empty.
func gather(jobs <-chan jetstream.Msg, b Batch, notBefore time.Time) (batch []jetstream.Msg, ok bool) {
	m, ok := <-jobs
	if !ok {
		return nil, false
	}
	batch = []jetstream.Msg{m}
	if b.Size <= 1 {
		return batch, true
	}
	deadline := time.NewTimer(b.Wait)
	defer deadline.Stop()
	gap := time.NewTimer(batchGap)
	defer gap.Stop()
	for len(batch) < b.Size {
		select {
		case m, ok := <-jobs:
			if !ok {
				return batch, true
			}
			batch = append(batch, m)
			gap.Reset(batchGap)
		case <-gap.C:
			if wait := time.Until(notBefore); wait > 0 {
				gap.Reset(wait)
				continue
			}
			return batch, true
		case <-deadline.C:
			return batch, true
		}
	}
	return batch, true
}
