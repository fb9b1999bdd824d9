package tagger

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsflow/newsflow/services/tagger/story"
	"github.com/newsflow/newsflow/stage"
	"github.com/newsflow/newsflow/stage/ops"
)

// Relinking: an article that arrives after a later one it relates to (the
// earlier original after its copy, a replica's article after another
// replica linked a later one without it) makes that later article's link
// stale (see package story). The tagger then sends the later article
// through itself again: it fetches the article's input message from the
// input stream by the sequence its story record keeps, and republishes it
// under a relink generation (Article.replay). Whichever replica handles it
// links it anew with the index it has now, and the sink stores the new
// version. The generation carries the sequence the message was read from:
// if the tagger has handled a later message of the article by the time the
// relink comes back (a replay or a new version sent meanwhile), the relink
// is dropped as superseded, so it never brings back an older version. An
// article whose input message the stream no longer keeps
// (trimmed history, or older than the stream's age) keeps its link; that
// is counted, as is a relink that fails (newsflow_story_relinks_total).
//
// The generation names the stale article's link as the replica saw it and
// the replica: the duplicate window drops a relink sent again for an
// article still in the state it was sent from (several causes, a
// redelivered cause, a record coming back from the story stream), yet a
// replica that sees a cause after another replica's relink went through
// without it can still send its own.

const (
	relinkSent       = "sent"
	relinkDuplicate  = "duplicate"
	relinkGone       = "gone"
	relinkFailed     = "failed"
	relinkSuperseded = "superseded"
)

// relinkedFrom tells a relink (its replay generation "l<hash>.<seq>") from
// other messages, and returns the input sequence it was read from.
func relinkedFrom(replay string) (uint64, bool) {
	rest, ok := strings.CutPrefix(replay, "l")
	if !ok {
		return 0, false
	}
	_, seq, ok := strings.Cut(rest, ".")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(seq, 10, 64)
	return n, err == nil
}

// relinker sends stale articles through the tagger again: queue takes
// them, run sends them once the tagger has caught up.
type relinker struct {
	js       jetstream.JetStream
	subject  string // the tagger's input subject
	instance string // this replica
	count    func(outcome string)
	log      *slog.Logger
	// tryFor bounds one try of a relink (reading it back and publishing
	// it): stage.PublishTry.
	tryFor time.Duration

	mu     sync.Mutex
	stream jetstream.Stream // the input stream, looked up on first use
	// sent remembers the relinks this replica sent (by generation) and
	// when. Until a relinked article comes back through the tagger, every
	// earlier article that arrives finds it stale again, in the same
	// state: under a backlog, thousands of times. Those are skipped here
	// instead of costing two round trips each for the duplicate window to
	// drop (the soak run: 1.3 million in 7 minutes, against 28,000 sent).
	sent map[string]time.Time
	// pending holds the stale articles waiting to be sent, by id.
	pending map[string]story.Stale
	// rounds counts, by id, the flushes whose tries of a relink all
	// failed (see relinkRounds).
	rounds  map[string]int
	waiting func(n int) // reports how many wait, those being sent included
}

// A relink is remembered for relinkMemory; at most relinkMemoryMax are.
const (
	relinkMemory    = 30 * time.Minute
	relinkMemoryMax = 200_000
)

func newRelinker(js jetstream.JetStream, subject, instance string, count func(string), waiting func(int), log *slog.Logger) *relinker {
	return &relinker{js: js, subject: subject, instance: instance, count: count, waiting: waiting, log: log, tryFor: stage.PublishTry}
}

// generation names a relink of s (see the comment above).
func (l *relinker) generation(s story.Stale) string {
	h := sha256.New()
	for _, v := range []string{l.instance, s.ID, s.Link.Story, s.Link.DuplicateOf, s.Link.DerivedFrom, s.Link.Parent} {
		fmt.Fprintf(h, "%d:%s", len(v), v)
	}
	return "l" + hex.EncodeToString(h.Sum(nil))[:16]
}

// relinkTries is how often one flush tries a relink, relinkPause the pause
// after the first failure (doubled after each). A relink whose tries all
// failed goes back in the queue for a later flush, relinkRounds flushes at
// most, before it counts as failed: a flush runs only while the tagger
// reads its consumers' state, so a relink caught by a NATS restart (the
// tries span 0.6 s; a restart takes seconds) goes out once the server is
// back, while one the server keeps refusing (no permission to read the
// input stream or publish to it) is given up.
const (
	relinkTries  = 3
	relinkPause  = 200 * time.Millisecond
	relinkRounds = 5
)

// Relinks wait until the pipeline after the tagger has caught up: they are
// sent while its consumer and the sink's each have fewer than
// relinkIdleBelow messages pending or unacked, relinkBatch at a time,
// looking every relinkEvery, and again relinkGap after a batch. Under a
// backlog (a first pass over thousands of feeds, whose copies arrive in
// any order) an article may turn stale many times; waiting sends it once,
// and keeps new articles from queueing behind relinks. The 5,000-feed
// soak run sent 281,000 relinks for 111,000 articles at once, and
// freshness p99 went from 10 to 23 minutes; gated on the tagger alone,
// the relinks piled up before the sink (42,000 waiting, 1.6 GB of
// memory). Small batches keep what a new article may find queued ahead of
// it short: batches of 200 sent while under 100 messages waited put up
// to 300 ahead of it.
const (
	relinkIdleBelow = 20
	relinkBatch     = 20
	relinkEvery     = 250 * time.Millisecond
	relinkGap       = 20 * time.Millisecond
)

// queue notes stale articles for relinking (the latest state of each);
// run sends them.
func (l *relinker) queue(stale []story.Stale) {
	for _, s := range stale {
		if l.remembered(l.generation(s)) {
			continue
		}
		l.mu.Lock()
		if l.pending == nil {
			l.pending = map[string]story.Stale{}
		}
		l.pending[s.ID] = s
		n := len(l.pending)
		l.mu.Unlock()
		l.waiting(n)
	}
}

// run sends the queued relinks whenever idle reports that the tagger has
// caught up, until ctx ends.
func (l *relinker) run(ctx context.Context, idle func(context.Context) bool) {
	t := time.NewTicker(relinkEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for l.queued() > 0 && idle(ctx) && ctx.Err() == nil {
			l.flush(ctx, relinkBatch)
			select {
			case <-ctx.Done():
				return
			case <-time.After(relinkGap): // the tagger takes the batch in
			}
		}
	}
}

func (l *relinker) queued() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pending)
}

// flush sends up to max queued relinks, those read from the lowest input
// sequences first. Reading in stream order matters: the server reads a
// message by loading its whole block (8 MB) and keeps it cached for
// seconds, so relinks read at random held hundreds of blocks at once (the
// 5,000-feed soak run: the process grew from 630 MB to 1.6 GB once
// relinks flowed), while a batch in order reads a few neighbouring ones.
//
// A relink that fails relinkTries times (NATS unreachable, or the tagger
// not allowed to read its input stream or publish to it) ends the flush and
// waits in the queue, with the rest of the batch, for a later one; after
// relinkRounds such flushes it is logged and counted as failed: the
// article that caused it was tagged all the same. An article the stream no
// longer holds is counted as gone.
func (l *relinker) flush(ctx context.Context, max int) {
	l.mu.Lock()
	batch := make([]story.Stale, 0, len(l.pending))
	for _, s := range l.pending {
		batch = append(batch, s)
	}
	slices.SortFunc(batch, func(a, b story.Stale) int { return cmp.Compare(a.Ref, b.Ref) })
	batch = batch[:min(max, len(batch))]
	for _, s := range batch {
		delete(l.pending, s.ID)
	}
	l.mu.Unlock()
	defer func() { l.waiting(l.queued()) }()
	for i, s := range batch {
		gen := l.generation(s)
		outcome, err := l.send(ctx, s, gen)
		for pause, try := relinkPause, 1; err != nil && try < relinkTries; pause, try = 2*pause, try+1 {
			select {
			case <-ctx.Done():
			case <-time.After(pause):
				outcome, err = l.send(ctx, s, gen)
			}
		}
		if err != nil && ctx.Err() == nil {
			// What fails one relink (most often NATS away) fails the
			// rest: they wait for the next flush, untried.
			l.requeue(batch[i+1:])
			if l.again(s) {
				return
			}
		}
		if err == nil {
			l.mu.Lock()
			delete(l.rounds, s.ID)
			l.mu.Unlock()
		}
		l.count(outcome)
		if err == nil && (outcome == relinkSent || outcome == relinkDuplicate) {
			l.remember(gen)
		}
		switch {
		case err != nil:
			l.log.Warn("could not relink an article; its story link stays as it was", "article_id", s.ID, "error", err, "flushes", relinkRounds)
		case outcome == relinkGone:
			l.log.Info("article to relink no longer in the input stream; its story link stays as it was", "article_id", s.ID)
		}
		if err != nil {
			return
		}
	}
}

// requeue puts relinks taken for a flush and not tried back in the queue,
// unless a newer state of the article was queued meanwhile.
func (l *relinker) requeue(batch []story.Stale) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range batch {
		if _, newer := l.pending[s.ID]; !newer {
			l.pending[s.ID] = s
		}
	}
}

// again puts a relink whose tries all failed back in the queue, unless it
// has failed relinkRounds flushes or a newer state of the article was
// queued meanwhile (that one is sent instead). It reports whether the
// relink is still to be sent.
func (l *relinker) again(s story.Stale) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, newer := l.pending[s.ID]; newer {
		delete(l.rounds, s.ID)
		return true
	}
	if l.rounds == nil {
		l.rounds = map[string]int{}
	}
	l.rounds[s.ID]++
	if l.rounds[s.ID] >= relinkRounds {
		delete(l.rounds, s.ID)
		return false
	}
	if l.pending == nil {
		l.pending = map[string]story.Stale{}
	}
	l.pending[s.ID] = s
	return true
}

// remembered reports whether this replica sent the relink of gen lately.
func (l *relinker) remembered(gen string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	at, ok := l.sent[gen]
	return ok && time.Since(at) < relinkMemory
}

// remember notes that the relink of gen was sent, forgetting the oldest
// when there are too many.
func (l *relinker) remember(gen string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sent == nil {
		l.sent = map[string]time.Time{}
	}
	if len(l.sent) >= relinkMemoryMax {
		for g, at := range l.sent {
			if time.Since(at) >= relinkMemory {
				delete(l.sent, g)
			}
		}
		if len(l.sent) >= relinkMemoryMax {
			clear(l.sent)
		}
	}
	l.sent[gen] = time.Now()
}

func (l *relinker) send(ctx context.Context, s story.Stale, gen string) (string, error) {
	if s.Ref == 0 {
		return relinkGone, nil
	}
	ctx, cancel := context.WithTimeout(ctx, l.tryFor)
	defer cancel()
	st, err := l.input(ctx)
	if err != nil {
		return relinkFailed, err
	}
	m, err := st.GetMsg(ctx, s.Ref)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return relinkGone, nil
	}
	if err != nil {
		return relinkFailed, fmt.Errorf("get input message %d: %w", s.Ref, err)
	}
	a, err := stage.DecodeArticle(m.Data)
	if err != nil || a.GetId() != s.ID {
		return relinkGone, nil // not the article any more: nothing to send
	}
	a.Replay = gen + "." + strconv.FormatUint(s.Ref, 10)
	dup, err := ops.Republish(ctx, l.js, l.subject, "relink", a)
	if err != nil {
		return relinkFailed, err
	}
	if dup {
		return relinkDuplicate, nil
	}
	return relinkSent, nil
}

func (l *relinker) input(ctx context.Context) (jetstream.Stream, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stream != nil {
		return l.stream, nil
	}
	name := stage.StreamFor(l.subject)
	st, err := l.js.Stream(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	l.stream = st
	return st, nil
}
