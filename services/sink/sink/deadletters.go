package sink

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsflow/newsflow/stage"
)

// deadLetterConsumer is the durable consumer through which the sink reads
// every stage's dead letters for the per-source statistics.
const deadLetterConsumer = "sink-dead-letters"

// countDeadLetters counts every dead letter into the per-source statistics
// of the sources endpoint, until ctx ends. Each is acked once counted; a
// crash between the two may count one twice, which statistics can bear.
func (s *Sink) countDeadLetters(ctx context.Context, rt *stage.Runtime) {
	for ctx.Err() == nil {
		err := s.consumeDeadLetters(ctx, rt.JetStream())
		if ctx.Err() != nil {
			return
		}
		rt.Logger().Warn("dead-letter statistics", "error", err, "retry_in", 5*time.Second)
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
	}
}

func (s *Sink) consumeDeadLetters(ctx context.Context, js jetstream.JetStream) error {
	stream, err := js.Stream(ctx, stage.StreamFor(stage.SubjectDeadPrefix))
	if err != nil {
		return err
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       deadLetterConsumer,
		Description:   "newsflow sink: per-source dead-letter statistics",
		FilterSubject: stage.SubjectDeadPrefix + ">",
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		MaxAckPending: 100,
	})
	if err != nil {
		return err
	}
	cc, err := cons.Consume(func(m jetstream.Msg) { s.countDeadLetter(ctx, m) })
	if err != nil {
		return err
	}
	defer cc.Stop()
	select {
	case <-ctx.Done():
		return nil
	case <-cc.Closed():
		return errors.New("consumption ended by the server")
	}
}

func (s *Sink) countDeadLetter(ctx context.Context, m jetstream.Msg) {
	d := stage.ParseDeadLetter(m.Headers(), m.Data())
	at := time.Now()
	if meta, err := m.Metadata(); err == nil {
		at = meta.Timestamp
	}
	if err := s.st.CountDeadLetter(ctx, d.SourceHost(), d.Stage, d.Reason, at); err != nil {
		_ = m.NakWithDelay(5 * time.Second)
		return
	}
	_ = m.Ack()
}
