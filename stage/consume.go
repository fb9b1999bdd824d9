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

// pullWait bounds one pull request and pullHeartbeat is the server's idle
// heartbeat within it: short pulls notice a restarted or unreachable server
// within two heartbeats, instead of waiting out a long pull.
const (
	pullWait      = 5 * time.Second
	pullHeartbeat = time.Second
)

// holdMax caps the delay between tries of a message held while a dependency
// is unavailable, so the stage notices within seconds that it is back.
const holdMax = 10 * time.Second

// Consume binds to the stage's durable pull consumer on input and runs h over
// every message with cfg.Workers workers, publishing h's output to output
// ("" for none). It returns when ctx ends, after a graceful drain: no new
// messages are pulled, in-flight ones are finished and settled.
//
// Messages are pulled only for free workers, in short pull requests, and
// only while the stage's dependencies are available: when a handler reports
// ErrUnavailable (the store or NATS is down) the stage holds its messages,
// stops pulling, reports not ready and retries them with a growing delay
// until they go through, without spending their delivery budget. While a
// message is handled or held the runtime tells the server it is in
// progress, so a short ack wait reclaims only the work of a crashed replica.
//
// If the consumer or its stream disappears, or the server restarts, the
// stage reports not ready and recreates them, retrying with a growing delay,
// instead of idling while it looks healthy.
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
	return r.consume(ctx, input, output, Batch{Size: 1}, r.cfg.Workers, func(ctx context.Context, start time.Time, as []*newsflowv1.Article) []error {
		errs := make([]error, len(as))
		for i, a := range as {
			errs[i] = r.process(ctx, h, pub, a, start)
		}
		return errs
	})
}

// work is a stage's processing of one batch as the message path sees it:
// one error per article, meaning what a BatchHandler's errors mean.
type work func(ctx context.Context, start time.Time, as []*newsflowv1.Article) []error

// consume runs Consume's loop: cfg.Workers workers take messages from jobs,
// gather them into batches as b says and run each batch down the message
// path (handle); at most slots messages are pulled and not yet settled at
// any time.
func (r *Runtime) consume(ctx context.Context, input, output string, b Batch, slots int, w work) error {
	// A failed first start is a configuration problem: report it at once.
	cons, err := r.ensureConsumer(ctx, input)
	if err != nil {
		return err
	}
	r.tel.consuming(r.name)
	var consuming atomic.Bool
	r.health.Add(r.name+"/consumer", func(context.Context) error {
		if !consuming.Load() {
			return errors.New("not consuming")
		}
		return r.avail.err()
	})
	ready := r.tel.ready.WithLabelValues(r.name)
	setReady := func(ok bool) {
		consuming.Store(ok)
		if ok && r.avail.err() == nil {
			ready.Set(1)
		} else {
			ready.Set(0)
		}
	}
	r.avail.onChange = func() { setReady(consuming.Load()) }

	free := make(chan struct{}, slots)
	for range slots {
		free <- struct{}{}
	}
	done := func(n int) {
		for range n {
			free <- struct{}{}
		}
	}
	jobs := make(chan jetstream.Msg)
	var wg sync.WaitGroup
	for range r.cfg.Workers {
		wg.Go(func() {
			for {
				batch, ok := gather(jobs, b)
				if !ok {
					return
				}
				r.handle(ctx, batch, w)
				done(len(batch))
			}
		})
	}
	lagCtx, stopLag := context.WithCancel(context.Background())
	defer stopLag()
	var lagWG sync.WaitGroup
	lagWG.Go(func() { r.watchLag(lagCtx, input) })

	setReady(true) // the consumer is there: ready until a pull fails
	r.log.Info("consuming", "subject", input, "output", output, "workers", r.cfg.Workers, "pull", slots)
	failures := uint64(0)
	for ctx.Err() == nil {
		if !r.avail.wait(ctx) {
			break
		}
		// Take every free slot, waiting for at least one.
		n := 0
		select {
		case <-free:
			n = 1
		case <-ctx.Done():
		}
		if n == 0 {
			break
		}
	more:
		for n < slots {
			select {
			case <-free:
				n++
			default:
				break more
			}
		}
		got, err := r.pull(ctx, cons, n, jobs, func() {
			// The pull request is out on a live connection: ready, unless
			// the last pull failed (this one has to prove it works).
			if failures == 0 && r.nc.IsConnected() {
				setReady(true)
			}
		})
		done(n - got)
		if err == nil || ctx.Err() != nil {
			if failures > 0 {
				r.log.Info("consuming again", "subject", input)
			}
			failures = 0
			setReady(true)
			continue
		}
		failures++
		setReady(false)
		delay := retryDelay(100*time.Millisecond, 2*time.Second, failures)
		if failures == 1 || failures%10 == 0 {
			r.log.Warn("pull failed; retrying", "subject", input, "error", err, "retry_in", delay)
		}
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		case <-r.reconnected.C():
			failures = 0
		}
		if r.nc.IsConnected() && (errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrStreamNotFound) || failures%5 == 0) {
			// Deleted, or lost with a server's storage: create it again.
			if c, err := r.ensureConsumer(ctx, input); err == nil {
				cons = c
			} else if ctx.Err() == nil {
				r.log.Error("recreate consumer", "subject", input, "error", err)
			}
		}
	}

	r.log.Info("draining consumer")
	setReady(false)
	close(jobs)
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(r.cfg.ShutdownTimeout):
		r.log.Warn("drain timed out; unfinished messages will be redelivered")
	}
	stopLag()
	lagWG.Wait()
	return nil
}

// pull asks the server for up to n messages in one short pull request and
// hands each to a worker, telling the server it is in progress while it waits
// for one; sent is called once the request is out. It returns how many it
// handed on.
func (r *Runtime) pull(ctx context.Context, cons jetstream.Consumer, n int, jobs chan<- jetstream.Msg, sent func()) (int, error) {
	pctx, cancel := context.WithTimeout(ctx, pullWait)
	defer cancel()
	// A pull sent before the connection dropped is gone with it: pull
	// again at once when it is back.
	reconnected := r.reconnected.C()
	go func() {
		select {
		case <-reconnected:
			cancel()
		case <-pctx.Done():
		}
	}()
	batch, err := cons.Fetch(n, jetstream.FetchContext(pctx), jetstream.FetchHeartbeat(pullHeartbeat))
	if err != nil {
		return 0, err
	}
	sent()
	got := 0
	for m := range batch.Messages() {
		got++
		r.give(m, jobs)
	}
	err = batch.Error()
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = nil
	}
	return got, err
}

// give sends m to a worker, keeping it in progress while every worker is
// busy (a batch worker may be writing the previous batch).
func (r *Runtime) give(m jetstream.Msg, jobs chan<- jetstream.Msg) {
	t := time.NewTicker(r.cfg.AckWait / 3)
	defer t.Stop()
	for {
		select {
		case jobs <- m:
			return
		case <-t.C:
			_ = m.InProgress()
		}
	}
}

// ensureConsumer makes sure the input stream and the stage's durable
// consumer exist.
func (r *Runtime) ensureConsumer(ctx context.Context, input string) (jetstream.Consumer, error) {
	stream, err := ensureStream(ctx, r.js, r.cfg, input)
	if err != nil {
		return nil, err
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       r.name,
		Description:   "newsflow " + r.name + " stage",
		FilterSubject: input,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       r.cfg.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: max(1000, 4*r.cfg.Workers),
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("create consumer %s on %s: %w", r.name, stream.CachedInfo().Config.Name, err)
	}
	return cons, nil
}

// keepInProgress tells the server every third of the ack wait that ms are
// still being worked on, until the returned function is called.
func (r *Runtime) keepInProgress(ms ...jetstream.Msg) (stop func()) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(r.cfg.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				for _, m := range ms {
					_ = m.InProgress()
				}
			}
		}
	})
	return func() { close(quit); wg.Wait() }
}

// watchLag exports the consumer's pending and ack-pending counts. Every
// replica exports the same consumer-wide values: aggregate with max, not sum.
// It asks the server by stream and consumer name, so it keeps working after
// the consumer is recreated.
func (r *Runtime) watchLag(ctx context.Context, input string) {
	t := time.NewTicker(lagInterval)
	defer t.Stop()
	for {
		ictx, cancel := context.WithTimeout(ctx, lagInterval)
		cons, err := r.js.Consumer(ictx, StreamFor(input), r.name)
		if err == nil {
			var info *jetstream.ConsumerInfo
			if info, err = cons.Info(ictx); err == nil {
				r.tel.pending.WithLabelValues(r.name).Set(float64(info.NumPending))
				r.tel.ackPending.WithLabelValues(r.name).Set(float64(info.NumAckPending))
			}
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// handle is the message path, in steps around the stage's work: track
// (in-flight and duration metrics), receive (decode; a poison message is
// dead-lettered), keep in progress, call (the one panic recovery and the
// handler timeout), hold (while a dependency is unavailable, try again
// without spending deliveries) and settle (ack, retry or dead-letter).
func (r *Runtime) handle(ctx context.Context, ms []jetstream.Msg, w work) {
	start := time.Now()
	defer r.track(start, len(ms))()
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
		errs := r.call(w, start, arts)
		var heldGot []received
		var cause error
		for i, g := range got {
			if errors.Is(errs[i], ErrUnavailable) {
				heldGot = append(heldGot, g)
				cause = errs[i]
				continue
			}
			r.settle(g.m, arts[i], errs[i], g.delivered)
		}
		if len(heldGot) == 0 {
			return
		}
		got, arts = heldGot, arts[:0]
		for _, g := range got {
			// The work may have changed its articles: try again from the
			// messages, which decoded before.
			a, _ := DecodeArticle(g.m.Data())
			arts = append(arts, a)
		}
		if !r.hold(ctx, cause, attempt) {
			for i, g := range got {
				r.settle(g.m, arts[i], cause, g.delivered)
			}
			return
		}
	}
}

// call runs w over as within the handler timeout. It is the runtime's one
// panic recovery: a panic is a permanent error for every article of the
// batch, and a wrong number of results a transient one.
func (r *Runtime) call(w work, start time.Time, as []*newsflowv1.Article) (errs []error) {
	all := func(err error) []error {
		out := make([]error, len(as))
		for i := range out {
			out[i] = err
		}
		return out
	}
	defer func() {
		if p := recover(); p != nil {
			errs = all(Permanentf("panic", "handler panicked: %v\n%s", p, debug.Stack()))
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.HandlerTimeout)
	defer cancel()
	errs = w(ctx, start, as)
	if len(errs) != len(as) {
		return all(fmt.Errorf("handler returned %d results for %d articles", len(errs), len(as)))
	}
	return errs
}

// process runs h over a and publishes its output with the stage's trace
// span; an output the stream already holds is ErrDuplicate.
func (r *Runtime) process(ctx context.Context, h Handler, pub *Publisher, a *newsflowv1.Article, start time.Time) error {
	out, err := h(ctx, a)
	if err != nil || out == nil || pub == nil {
		return err
	}
	out.Trace = append(out.Trace, &newsflowv1.Span{
		Stage:      r.name,
		ReceivedAt: timestamppb.New(start),
		FinishedAt: timestamppb.Now(),
	})
	duplicate, err := pub.publish(ctx, out)
	if err != nil {
		return err
	}
	r.crash.afterPublish()
	if duplicate {
		return ErrDuplicate
	}
	return nil
}

// hold records that a dependency is unavailable and waits before the
// attempt+1-th try of held work. It returns false, leaving the work to be
// settled as a transient failure, when ctx ends first.
func (r *Runtime) hold(ctx context.Context, err error, attempt uint64) bool {
	r.avail.down(err)
	delay := retryDelay(r.cfg.RetryBase, min(r.cfg.RetryMax, holdMax), attempt)
	if attempt == 1 || attempt%10 == 0 {
		r.log.Warn("dependency unavailable; holding messages and pausing", "error", err, "attempt", attempt, "retry_in", delay)
	}
	r.tel.held.WithLabelValues(r.name).Inc()
	select {
	case <-ctx.Done():
		return false
	case <-time.After(delay):
		return true
	}
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
func (r *Runtime) settle(m jetstream.Msg, a *newsflowv1.Article, err error, delivered uint64) {
	log := r.log.With("article_id", a.GetId(), "url", a.GetUrl())
	if !errors.Is(err, ErrUnavailable) {
		r.avail.up()
	}
	switch reason, permanent := permanentReason(err); {
	case errors.Is(err, ErrUnavailable):
		// Still unavailable at shutdown: back to the stream at once for the
		// next start, which counts one delivery.
		if err := m.Nak(); err != nil {
			log.Warn("nak failed; the message will be redelivered after ack-wait", "error", err)
		}
		r.tel.messages.WithLabelValues(r.name, OutcomeRetried).Inc()
	case err == nil || errors.Is(err, ErrDuplicate):
		if err := m.Ack(); err != nil {
			log.Warn("ack failed; the message will be redelivered", "error", err)
		}
		outcome := OutcomeOK
		if err != nil {
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

// deadLetter publishes the original message to the stage's dead-letter
// subject with the reason in headers, then terminates it. If the dead letter
// cannot be published the message is nak'ed instead: it is never dropped.
func (r *Runtime) deadLetter(m jetstream.Msg, articleID, reason string, cause error, delivered uint64) {
	log := r.log.With("article_id", articleID, "reason", reason)
	source := ""
	if meta, err := m.Metadata(); err == nil {
		source = meta.Stream + ":" + strconv.FormatUint(meta.Sequence.Stream, 10)
	}
	d := DeadLetter{Stage: r.name, Reason: reason, Error: cause.Error(), Deliveries: delivered, Source: source, ArticleID: articleID}
	msg := &nats.Msg{Subject: r.dead.subject, Data: m.Data(), Header: d.Header()}
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.HandlerTimeout)
	defer cancel()
	msgID := "dead:" + r.name + ":" + source
	_, err := r.dead.send(ctx, msg, msgID)
	if reason, _ := permanentReason(err); reason == "oversize" {
		// The original plus headers is over the payload limit: dead-letter
		// the headers alone; the source header points at the original.
		d.PayloadOmitted = true
		msg.Data, msg.Header = nil, d.Header()
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
