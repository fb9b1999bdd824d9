package stage

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
)

// The message path: what happens to each message a stage is given, from
// its receipt to its settlement. consume.go pulls the messages; this file
// runs them through the stage's work.

// work is a stage's processing of one batch as the message path sees it:
// one error per article, meaning what a BatchHandler's errors mean.
type work func(ctx context.Context, start time.Time, as []*newsflowv1.Article) []error

// holdMax caps the delay between tries of a message held while a dependency
// is unavailable, so the stage notices within seconds that it is back.
const holdMax = 10 * time.Second

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
		seqs := make([]uint64, len(got))
		for i, g := range got {
			if meta, err := g.m.Metadata(); err == nil {
				seqs[i] = meta.Sequence.Stream
			}
		}
		errs := r.call(w, start, arts, seqs)
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

// call runs w over as within the handler timeout, telling it the stream
// sequences of their messages (seqs; see InputSeq). It is the runtime's one
// panic recovery: a panic is a permanent error for every article of the
// batch, and a wrong number of results a transient one.
func (r *Runtime) call(w work, start time.Time, as []*newsflowv1.Article, seqs []uint64) (errs []error) {
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
	errs = w(context.WithValue(ctx, inputSeqsKey{}, seqs), start, as)
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
		Version:    r.version,
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
	// waited in the client's buffer for a free worker: restart it, unless
	// it was pulled just now (most are: a stage pulls no more than its
	// workers and as many again). Sent for every message, it was a third of what the stages
	// sent to NATS per article, and half of what the sink sent.
	if p, ok := m.(pulled); !ok || time.Since(p.asked) > r.cfg.AckWait/4 {
		_ = m.InProgress()
	}
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
	in := m.Headers().Get(HeaderArticleID)
	if articleID == "" {
		articleID = in // not decoded: the id the message carries
	}
	d := DeadLetter{Stage: r.name, Reason: reason, Error: cause.Error(), Deliveries: delivered, Source: source, ArticleID: articleID}
	if in != "" && in != articleID {
		// The stage gave the article another id (the normalizer re-keys it
		// by its declared canonical URL): keep both.
		d.InputID = in
	}
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

type (
	inputSeqsKey struct{} // a batch's input sequences, []uint64
	inputSeqKey  struct{} // one article's, uint64
)

// InputSeq is the stream sequence of the input message a Handler was called
// for: a stage may fetch that message again (jetstream.Stream.GetMsg) while
// the stream keeps it, to send it through the stage once more. It is 0
// outside a Handler the runtime called, and in a BatchHandler.
func InputSeq(ctx context.Context) uint64 {
	seq, _ := ctx.Value(inputSeqKey{}).(uint64)
	return seq
}

// withInputSeq is the context a Handler is called with for the i-th
// article of the batch ctx carries.
func withInputSeq(ctx context.Context, i int) context.Context {
	if seqs, _ := ctx.Value(inputSeqsKey{}).([]uint64); i < len(seqs) {
		return context.WithValue(ctx, inputSeqKey{}, seqs[i])
	}
	return ctx
}
