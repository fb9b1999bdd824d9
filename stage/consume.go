package stage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

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

// Consume binds to the stage's durable pull consumer on input and runs h over
// every message with cfg.Workers workers, publishing h's output to output
// ("" for none). It returns when ctx ends, after a graceful drain: no new
// messages are pulled, in-flight ones are finished and settled.
//
// Messages are pulled for the free workers and as many again (a worker
// that finishes finds its next message in the client, and a backlog costs
// one pull request per -workers messages, not one a message), in short
// pull requests, and only while the stage's dependencies are available:
// when a handler reports ErrUnavailable (the store or NATS is down) the
// stage holds its messages, stops pulling, reports not ready and retries
// them with a growing delay until they go through, without spending their
// delivery budget. While a message waits, is handled or is held the
// runtime tells the server it is in progress, so a short ack wait reclaims
// only the work of a crashed replica.
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
			if ctx.Err() != nil {
				return nil // stopped before it started
			}
			return err
		}
	}
	return r.consume(ctx, input, output, Batch{Size: 1}, 2*r.cfg.Workers, func(ctx context.Context, start time.Time, as []*newsflowv1.Article) []error {
		errs := make([]error, len(as))
		for i, a := range as {
			errs[i] = r.process(withInputSeq(ctx, i), h, pub, a, start)
		}
		return errs
	})
}

// consume runs Consume's loop: cfg.Workers workers take messages from jobs,
// gather them into batches as b says and run each batch down the message
// path (handle); at most n messages are pulled and not yet settled at any
// time.
func (r *Runtime) consume(ctx context.Context, input, output string, b Batch, n int, w work) error {
	// A failed first start is a configuration problem: report it at once.
	// A stop that comes before the consumer exists is no failure: there is
	// nothing to drain.
	cons, err := r.ensureConsumer(ctx, input)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	r.tel.consuming(r.name)
	setReady := r.readiness()

	free := newSlots(n)
	jobs := make(chan jetstream.Msg)
	var wg sync.WaitGroup
	workers := r.workers(b)
	var sizes prometheus.Observer // of a batch stage's batches
	if b.Size > 1 {
		sizes = r.tel.batch.WithLabelValues(r.name)
	}
	for range workers {
		wg.Go(func() {
			var last time.Time // when this writer's last batch was handed on
			for {
				batch, ok := gather(jobs, b, last.Add(b.Every))
				last = time.Now()
				if !ok {
					return
				}
				if sizes != nil {
					sizes.Observe(float64(len(batch)))
				}
				r.handle(ctx, batch, w)
				free.put(len(batch))
			}
		})
	}
	lagCtx, stopLag := context.WithCancel(context.Background())
	defer stopLag()
	var lagWG sync.WaitGroup
	lagWG.Go(func() { r.watchLag(lagCtx, input) })

	setReady(true) // the consumer is there: ready until a pull fails
	r.log.Info("consuming", "subject", input, "output", output, "workers", workers, "pull", n)
	failures := uint64(0)
	works := func() { // a pull delivered a message or ended well
		if failures > 0 {
			r.log.Info("consuming again", "subject", input)
		}
		failures = 0
		setReady(true)
	}
	sent := func() {
		// The pull request is out on a live connection: ready, unless the
		// last pull failed (this one has to prove it works, by its first
		// message or by ending without error).
		if failures == 0 && r.nc.IsConnected() {
			setReady(true)
		}
	}
	for ctx.Err() == nil && r.avail.wait(ctx) {
		want := free.take(ctx)
		if want == 0 {
			break
		}
		got, err := r.pull(ctx, cons, want, jobs, sent, works)
		free.put(want - got)
		if err == nil || ctx.Err() != nil {
			works()
			continue
		}
		failures++
		setReady(false)
		cons = r.recoverPull(ctx, input, cons, err, &failures)
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

// readiness registers the stage's consumer health check and returns the
// function that sets it: ready means consuming, with every dependency
// available.
func (r *Runtime) readiness() (setReady func(consuming bool)) {
	var consuming atomic.Bool
	r.health.Add(r.name+"/consumer", func(context.Context) error {
		if !consuming.Load() {
			return errors.New("not consuming")
		}
		return r.avail.err()
	})
	ready := r.tel.ready.WithLabelValues(r.name)
	setReady = func(ok bool) {
		consuming.Store(ok)
		if ok && r.avail.err() == nil {
			ready.Set(1)
		} else {
			ready.Set(0)
		}
	}
	r.avail.onChange = func() { setReady(consuming.Load()) }
	return setReady
}

// slots counts the messages that may still be pulled: one is taken per
// message pulled and put back once it is settled.
type slots chan struct{}

func newSlots(n int) slots {
	s := make(slots, n)
	s.put(n)
	return s
}

func (s slots) put(n int) {
	for range n {
		s <- struct{}{}
	}
}

// take waits for a free slot, then takes every free one; 0 when ctx ends.
func (s slots) take(ctx context.Context) int {
	select {
	case <-s:
	case <-ctx.Done():
		return 0
	}
	n := 1
	for n < cap(s) {
		select {
		case <-s:
			n++
		default:
			return n
		}
	}
	return n
}

// recoverPull waits after the failures-th failed pull in a row (less when
// the connection comes back) and recreates the consumer when it is gone, or
// every fifth failure; it returns the consumer to pull from next.
func (r *Runtime) recoverPull(ctx context.Context, input string, cons jetstream.Consumer, err error, failures *uint64) jetstream.Consumer {
	delay := retryDelay(100*time.Millisecond, 2*time.Second, *failures)
	if *failures == 1 || *failures%10 == 0 {
		r.log.Warn("pull failed; retrying", "subject", input, "error", err, "retry_in", delay)
	}
	back := r.reconnected.C()
	if errors.Is(err, errNotConnected) && r.nc.IsConnected() {
		*failures = 0 // back since the pull looked
	} else {
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		case <-back:
			*failures = 0
		}
	}
	gone := errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrStreamNotFound)
	if r.nc.IsConnected() && (gone || *failures%5 == 0) {
		// Deleted, or lost with a server's storage: create it again.
		if c, err := r.ensureConsumer(ctx, input); err == nil {
			return c
		} else if ctx.Err() == nil {
			r.log.Error("recreate consumer", "subject", input, "error", err)
		}
	}
	return cons
}

// pull asks the server for up to n messages in one short pull request and
// hands each to a worker (give); sent is called once the request is out,
// and delivered when its first message comes. It returns how many it
// handed on.
func (r *Runtime) pull(ctx context.Context, cons jetstream.Consumer, n int, jobs chan<- jetstream.Msg, sent, delivered func()) (int, error) {
	// A pull request lives on the connection it was sent on: the server
	// forgets it when that connection drops. So a pull is sent only on a
	// live connection and given up as soon as that connection drops,
	// which unsubscribes its inbox before the client reconnects. A pull
	// sent while disconnected waited in the client's buffer, went out on
	// reconnect, and was then given up: the server handed it messages
	// that nobody read until their ack wait ran out
	// (TestNoMessageIsLostToAPullOfTheOldConnection).
	dropped := r.disconnected.C()
	if !r.nc.IsConnected() {
		return 0, errNotConnected
	}
	conn := r.nc.Stats().Reconnects // which connection the pull goes out on
	pctx, cancel := context.WithTimeout(ctx, pullWait)
	defer cancel()
	go func() {
		for {
			select {
			case <-dropped:
			case <-pctx.Done():
				return
			}
			// A drop reported late, after a reconnect made before this
			// pull, is not this pull's connection's.
			if !r.nc.IsConnected() || r.nc.Stats().Reconnects != conn {
				cancel()
				return
			}
			dropped = r.disconnected.C()
		}
	}()
	asked := time.Now()
	batch, err := cons.Fetch(n, jetstream.FetchContext(pctx), jetstream.FetchHeartbeat(pullHeartbeat))
	if err != nil {
		return 0, err
	}
	sent()
	got := r.give(batch.Messages(), asked, jobs, delivered)
	err = batch.Error()
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = nil
	}
	return got, err
}

// errNotConnected is a pull not sent because the NATS connection is down.
var errNotConnected = errors.New("pull not sent: not connected to nats")

// pulled is a message with the time it was asked for: it was delivered
// after that, so its ack wait has run for at most the time since (see
// receive).
type pulled struct {
	jetstream.Msg
	asked time.Time
}

// give hands the messages of one pull to the workers as they come and
// returns how many there were, calling first on the first. Those that
// wait for a busy worker (a batch worker may be writing the previous
// batch, and a stage pulls ahead of its workers) are taken from the pull's
// buffer at once and kept in progress while they wait, so that none runs
// out its ack wait in the client and is delivered again
// (TestUnavailableHoldsWithoutSpendingDeliveries).
func (r *Runtime) give(msgs <-chan jetstream.Msg, asked time.Time, jobs chan<- jetstream.Msg, first func()) (got int) {
	t := time.NewTicker(r.cfg.AckWait / 3)
	defer t.Stop()
	var waiting []jetstream.Msg
	for msgs != nil || len(waiting) > 0 {
		var to chan<- jetstream.Msg // nil (never ready) while none waits
		var next jetstream.Msg
		if len(waiting) > 0 {
			to, next = jobs, waiting[0]
		}
		select {
		case m, ok := <-msgs:
			if !ok {
				msgs = nil
				continue
			}
			if got++; got == 1 {
				first()
			}
			waiting = append(waiting, pulled{m, asked})
		case to <- next:
			waiting[0] = nil
			waiting = waiting[1:]
		case <-t.C:
			for _, m := range waiting {
				_ = m.InProgress()
			}
		}
	}
	return got
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

// watchLag exports the consumer's pending and ack-pending counts and the
// input stream's size, and keeps room in it (keepRoom). Every
// replica exports the same consumer-wide values: aggregate with max, not sum.
// It asks the server by stream and consumer name, so it keeps working after
// the consumer is recreated.
func (r *Runtime) watchLag(ctx context.Context, input string) {
	every := cmp.Or(r.watchEvery, lagInterval)
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
		pressed, err := r.keepRoom(ictx, StreamFor(input))
		if err != nil && ctx.Err() == nil {
			r.log.Warn("could not check the room in the input stream", "stream", StreamFor(input), "error", err)
		}
		cancel()
		wait := every
		if pressed {
			wait /= 10 // publishers may be waiting for room: look again soon
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}
