// Package ops is what operators do to a running pipeline's streams: read
// retained history, work the dead letters (list, show, redrive, purge) and
// replay a stage over history. The CLI's dead, replay and status commands
// use it; it needs only a JetStream connection.
package ops

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Msg is one retained message of a stream.
type Msg struct {
	Stream  string
	Seq     uint64
	Time    time.Time
	Subject string
	Header  nats.Header
	Data    []byte
}

// scanBatch is how many messages one fetch of a scan asks for.
const scanBatch = 256

// Scan calls fn for every message of stream stored at or after since (zero:
// from the first), in order, up to the last message the stream held when
// the scan began: what is published during the scan (a replay into the
// stream it reads) is not read again. fn returning an error stops the scan
// with that error. A stream never created holds nothing.
func Scan(ctx context.Context, js jetstream.JetStream, stream string, since time.Time, fn func(Msg) error) error {
	s, err := js.Stream(ctx, stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil // never created: nothing was ever stored in it
	}
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	last := info.State.LastSeq
	if info.State.Msgs == 0 {
		return nil
	}
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if !since.IsZero() {
		cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		cfg.OptStartTime = &since
	}
	cons, err := s.OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("read stream %s: %w", stream, err)
	}
	for {
		batch, err := cons.Fetch(scanBatch, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return fmt.Errorf("read stream %s: %w", stream, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			meta, err := m.Metadata()
			if err != nil {
				return err
			}
			seq := meta.Sequence.Stream
			if seq > last {
				return nil
			}
			if err := fn(Msg{Stream: stream, Seq: seq, Time: meta.Timestamp, Subject: m.Subject(), Header: m.Headers(), Data: m.Data()}); err != nil {
				return err
			}
			if seq == last || meta.NumPending == 0 {
				return nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("read stream %s: %w", stream, err)
		}
		if n == 0 {
			// Nothing more within the wait: what was there at the
			// start has been read (messages may have aged out).
			return ctx.Err()
		}
	}
}

// Get returns message seq of stream.
func Get(ctx context.Context, js jetstream.JetStream, stream string, seq uint64) (Msg, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return Msg{}, fmt.Errorf("stream %s: %w", stream, err)
	}
	raw, err := s.GetMsg(ctx, seq)
	if err != nil {
		return Msg{}, fmt.Errorf("message %d of %s: %w", seq, stream, err)
	}
	return Msg{Stream: stream, Seq: raw.Sequence, Time: raw.Time, Subject: raw.Subject, Header: raw.Header, Data: raw.Data}, nil
}
