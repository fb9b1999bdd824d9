package stage

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
)

// Handler is a stage: one article in, the article to publish downstream out
// (nil when nothing is to be published, as in the sink). A returned error is
// transient (retried with a growing delay) unless it is a PermanentError
// (dead-lettered at once); ErrDuplicate acks without output.
type Handler func(ctx context.Context, a *newsflowv1.Article) (*newsflowv1.Article, error)

// lagInterval is how often the consumer's pending counts are read.
const lagInterval = 5 * time.Second

// Consume binds to the stage's durable pull consumer on input and runs h over
// every message with cfg.Workers workers, publishing h's output to output
// ("" for none). It returns when ctx ends, after a graceful drain: no new
// messages are pulled, buffered and in-flight ones are finished and acked.
//
// If the server ends the consumption (the consumer or its stream was
// deleted), the stage reports not ready and recreates them, retrying with a
// growing delay, instead of idling while it looks healthy.
//
// The server is given no delivery limit: the runtime itself dead-letters a
// message once it has been delivered MaxDeliver times, so a message whose
// handling crashed the process on its last try is still dead-lettered on the
// next start instead of being stranded.
func (r *Runtime) Consume(ctx context.Context, input, output string, h Handler) error {
	var pub *Publisher
	if output != "" {
		var err error
		if pub, err = r.Publisher(ctx, output); err != nil {
			return err
		}
	}
	return r.consume(ctx, input, output, r.cfg.Workers, func(jobs <-chan jetstream.Msg, finished <-chan struct{}) {
		for {
			select {
			case <-finished:
				return
			default:
			}
			select {
			case m := <-jobs:
				r.handle(m, h, pub)
			case <-finished:
				return
			}
		}
	})
}

// consume runs Consume's loop with cfg.Workers copies of work, each taking
// messages from jobs until finished is closed; pull is how many messages
// the client keeps buffered.
func (r *Runtime) consume(ctx context.Context, input, output string, pull int, work func(jobs <-chan jetstream.Msg, finished <-chan struct{})) error {
	jobs := make(chan jetstream.Msg)
	finished := make(chan struct{})
	// A failed first start is a configuration problem: report it at once.
	cc, cons, err := r.startConsuming(ctx, input, pull, jobs, finished)
	if err != nil {
		return err
	}

	var consuming atomic.Bool
	r.health.Add(r.name+"/consumer", func(context.Context) error {
		if !consuming.Load() {
			return errors.New("not consuming")
		}
		return nil
	})
	ready := r.tel.ready.WithLabelValues(r.name)
	setReady := func(ok bool) {
		consuming.Store(ok)
		if ok {
			ready.Set(1)
		} else {
			ready.Set(0)
		}
	}

	var wg sync.WaitGroup
	for range r.cfg.Workers {
		wg.Go(func() { work(jobs, finished) })
	}
	lagCtx, stopLag := context.WithCancel(context.Background())
	defer stopLag()
	wg.Go(func() { r.watchLag(lagCtx, cons) })

	r.log.Info("consuming", "subject", input, "output", output, "workers", r.cfg.Workers, "pull", pull)
	for attempt := uint64(1); ; {
		setReady(true)
		closed := cc.Closed()
		select {
		case <-ctx.Done():
		case <-closed:
			setReady(false)
			r.log.Error("consumption ended by the server (consumer or stream deleted?); recreating")
		}
		if ctx.Err() != nil {
			break
		}
		for {
			delay := retryDelay(r.cfg.RetryBase, r.cfg.RetryMax, attempt)
			select {
			case <-ctx.Done():
			case <-time.After(delay):
			}
			if ctx.Err() != nil {
				break
			}
			if cc, _, err = r.startConsuming(ctx, input, pull, jobs, finished); err == nil {
				attempt = 1
				break
			}
			attempt++
			r.log.Error("recreate consumer", "error", err, "retry_in", retryDelay(r.cfg.RetryBase, r.cfg.RetryMax, attempt))
		}
		if ctx.Err() != nil {
			break
		}
	}

	r.log.Info("draining consumer")
	setReady(false)
	cc.Drain()
	select {
	case <-cc.Closed():
	case <-time.After(r.cfg.ShutdownTimeout):
		r.log.Warn("drain timed out; unfinished messages will be redelivered")
		cc.Stop()
	}
	close(finished)
	stopLag()
	wg.Wait()
	return nil
}

// startConsuming makes sure the input stream and the stage's durable
// consumer exist and starts pulling into jobs.
func (r *Runtime) startConsuming(ctx context.Context, input string, pull int, jobs chan<- jetstream.Msg, finished <-chan struct{}) (jetstream.ConsumeContext, jetstream.Consumer, error) {
	stream, err := ensureStream(ctx, r.js, r.cfg, input)
	if err != nil {
		return nil, nil, err
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       r.name,
		Description:   "newsflow " + r.name + " stage",
		FilterSubject: input,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       r.cfg.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: max(1000, 4*pull),
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("create consumer %s on %s: %w", r.name, stream.CachedInfo().Config.Name, err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case jobs <- m:
		case <-finished:
			// Shutdown timed out: left unacked, redelivered after AckWait.
		}
	}, jetstream.PullMaxMessages(pull), jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		if !errors.Is(err, jetstream.ErrNoHeartbeat) || r.nc.IsConnected() {
			r.log.Warn("consume", "error", err)
		}
	}))
	if err != nil {
		return nil, nil, fmt.Errorf("consume %s: %w", input, err)
	}
	return cc, cons, nil
}

// watchLag exports the consumer's pending and ack-pending counts. Every
// replica exports the same consumer-wide values: aggregate with max, not sum.
// Info asks the server by stream and consumer name, so it keeps working
// after the consumer is recreated.
func (r *Runtime) watchLag(ctx context.Context, cons jetstream.Consumer) {
	t := time.NewTicker(lagInterval)
	defer t.Stop()
	for {
		ictx, cancel := context.WithTimeout(ctx, lagInterval)
		info, err := cons.Info(ictx)
		cancel()
		if err == nil {
			r.tel.pending.WithLabelValues(r.name).Set(float64(info.NumPending))
			r.tel.ackPending.WithLabelValues(r.name).Set(float64(info.NumAckPending))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// handle runs one message through h and settles it: ack, nak with delay, or
// dead-letter and terminate.
func (r *Runtime) handle(m jetstream.Msg, h Handler, pub *Publisher) {
	start := time.Now()
	defer r.track(start, 1)()

	a, delivered, ok := r.receive(m)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.HandlerTimeout)
	defer cancel()
	out, err := call(ctx, h, a)
	duplicate := false
	if err == nil && out != nil && pub != nil {
		out.Trace = append(out.Trace, &newsflowv1.Span{
			Stage:      r.name,
			ReceivedAt: timestamppb.New(start),
			FinishedAt: timestamppb.Now(),
		})
		duplicate, err = pub.publish(ctx, out)
		if err == nil {
			r.crash.afterPublish()
		}
	}
	r.settle(m, a, err, duplicate, delivered)
}

// track counts n messages in flight until the returned function is called,
// which also records their processing time.
func (r *Runtime) track(start time.Time, n int) func() {
	inFlight := r.tel.inFlight.WithLabelValues(r.name)
	inFlight.Add(float64(n))
	return func() {
		inFlight.Sub(float64(n))
		d := time.Since(start).Seconds()
		for range n {
			r.tel.duration.WithLabelValues(r.name).Observe(d)
		}
	}
}

// receive decodes m. A message delivered too often, or one that does not
// decode, is dead-lettered and ok is false.
func (r *Runtime) receive(m jetstream.Msg) (a *newsflowv1.Article, delivered uint64, ok bool) {
	// The ack-wait clock started at delivery, and the message may have
	// waited in the client's buffer for a free worker: restart it.
	_ = m.InProgress()
	delivered = 1
	if meta, err := m.Metadata(); err == nil {
		delivered = meta.NumDelivered
	}
	if delivered > uint64(r.cfg.MaxDeliver) {
		// Delivered past the limit without being settled: an earlier try
		// crashed or timed out. Do not try again.
		r.deadLetter(m, "", "max_deliver", fmt.Errorf("delivered %d times without being settled", delivered-1), delivered)
		return nil, delivered, false
	}
	a, err := DecodeArticle(m.Data())
	if err != nil {
		r.deadLetter(m, "", "decode", err, delivered)
		return nil, delivered, false
	}
	return a, delivered, true
}

// settle acks m, naks it with a delay or dead-letters it, as the handler's
// err says.
func (r *Runtime) settle(m jetstream.Msg, a *newsflowv1.Article, err error, duplicate bool, delivered uint64) {
	log := r.log.With("article_id", a.GetId(), "url", a.GetUrl())
	switch reason, permanent := permanentReason(err); {
	case err == nil || errors.Is(err, ErrDuplicate):
		if err := m.Ack(); err != nil {
			log.Warn("ack failed; the message will be redelivered", "error", err)
		}
		outcome := OutcomeOK
		if duplicate || err != nil {
			outcome = OutcomeDuplicate
		}
		r.tel.messages.WithLabelValues(r.name, outcome).Inc()
	case permanent:
		r.deadLetter(m, a.GetId(), reason, err, delivered)
	case delivered >= uint64(r.cfg.MaxDeliver):
		r.deadLetter(m, a.GetId(), "max_deliver", err, delivered)
	default:
		delay := retryDelay(r.cfg.RetryBase, r.cfg.RetryMax, delivered)
		log.Warn("transient failure, will retry", "error", err, "delivered", delivered, "retry_in", delay)
		if err := m.NakWithDelay(delay); err != nil {
			log.Warn("nak failed; the message will be redelivered after ack-wait", "error", err)
		}
		r.tel.messages.WithLabelValues(r.name, OutcomeRetried).Inc()
	}
}

// call runs h, turning a panic into a permanent error.
func call(ctx context.Context, h Handler, a *newsflowv1.Article) (out *newsflowv1.Article, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = Permanentf("panic", "handler panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return h(ctx, a)
}

// deadLetter publishes the original message to the stage's dead-letter
// subject with the reason in headers, then terminates it. If the dead letter
// cannot be published the message is nak'ed instead: it is never dropped.
func (r *Runtime) deadLetter(m jetstream.Msg, articleID, reason string, cause error, delivered uint64) {
	log := r.log.With("article_id", articleID, "reason", reason)
	source := ""
	if meta, err := m.Metadata(); err == nil {
		source = meta.Stream + ":" + strconv.FormatUint(meta.Sequence.Stream, 10)
	}
	msg := &nats.Msg{Subject: r.dead.subject, Data: m.Data(), Header: nats.Header{}}
	msg.Header.Set(HeaderDeadStage, r.name)
	msg.Header.Set(HeaderDeadReason, reason)
	msg.Header.Set(HeaderDeadError, truncate(cause.Error(), 1024))
	msg.Header.Set(HeaderDeadDeliveries, strconv.FormatUint(delivered, 10))
	msg.Header.Set(HeaderDeadSource, source)
	if articleID != "" {
		msg.Header.Set(HeaderArticleID, articleID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.HandlerTimeout)
	defer cancel()
	msgID := "dead:" + r.name + ":" + source
	_, err := r.dead.send(ctx, msg, msgID)
	if reason, _ := permanentReason(err); reason == "oversize" {
		// The original plus headers is over the payload limit: dead-letter
		// the headers alone; the source header points at the original.
		msg.Data = nil
		msg.Header.Set(HeaderDeadPayload, "omitted: over the payload limit; see "+HeaderDeadSource)
		_, err = r.dead.send(ctx, msg, msgID)
	}
	if err != nil {
		delay := retryDelay(r.cfg.RetryBase, r.cfg.RetryMax, delivered)
		log.Error("dead-letter publish failed; will retry", "error", err, "retry_in", delay)
		_ = m.NakWithDelay(delay)
		r.tel.messages.WithLabelValues(r.name, OutcomeRetried).Inc()
		return
	}
	log.Warn("dead-lettered", "error", cause)
	if err := m.TermWithReason(reason); err != nil {
		log.Warn("term failed", "error", err)
	}
	r.tel.messages.WithLabelValues(r.name, OutcomeDeadLettered).Inc()
	r.tel.deadLetters.WithLabelValues(r.name, reason).Inc()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
