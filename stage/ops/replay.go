package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/stage"
)

// ReplayFilter selects the retained messages a replay sends again; its
// zero value selects everything the input stream keeps.
type ReplayFilter struct {
	// Since and Until bound when the message was stored in the stream.
	Since, Until time.Time
	// Source is a site's host name, Feed a feed URL.
	Source, Feed string
	// IDs, when not nil, selects the articles it holds only (empty: none).
	IDs map[string]bool
}

// Match reports whether f selects a, stored at t.
func (f ReplayFilter) Match(a *newsflowv1.Article, t time.Time) bool {
	return (f.Since.IsZero() || !t.Before(f.Since)) &&
		(f.Until.IsZero() || t.Before(f.Until)) &&
		(f.Source == "" || strings.EqualFold(a.GetSource(), f.Source)) &&
		(f.Feed == "" || a.GetFeed() == f.Feed) &&
		(f.IDs == nil || f.IDs[a.GetId()])
}

// ReplayStats counts a replay's work.
type ReplayStats struct {
	// Scanned is the messages read from the input stream; Selected those
	// the filter chose; Published those sent again; Duplicates those the
	// duplicate window dropped (another copy of one article version, or a
	// replay of the same generation run twice); Unreadable those that did
	// not decode.
	Scanned, Selected, Published, Duplicates, Unreadable int
}

// ReplayOptions configure Replay.
type ReplayOptions struct {
	// Stage is the stage to run again (its input stream is read).
	Stage string
	// Generation is the replay generation the articles carry.
	Generation string
	Filter     ReplayFilter
	// Rate bounds the messages published a second (0: no bound).
	Rate float64
	// DryRun counts what would be replayed and publishes nothing.
	DryRun bool
	// Progress, when set, is called after every ProgressEvery selected
	// messages, and once at the end.
	Progress      func(ReplayStats)
	ProgressEvery int
}

// NewGeneration is a fresh replay generation, from the time.
func NewGeneration(now time.Time) string { return "r" + now.UTC().Format("20060102T150405Z") }

// Replay sends the retained messages of a stage's input that o.Filter
// selects into that input again, as a replay under o.Generation (see
// stage.MsgID): the stage processes them again, and every stage after it,
// and the sink stores the new result. It reads the input stream as it was
// when the replay began.
func Replay(ctx context.Context, js jetstream.JetStream, o ReplayOptions) (ReplayStats, error) {
	var st ReplayStats
	input := stage.InputOf(o.Stage)
	if input == "" {
		return st, fmt.Errorf("stage %q has no input to replay (one of %s)", o.Stage, strings.Join(stage.ConsumerNames(), ", "))
	}
	if o.Generation == "" {
		return st, fmt.Errorf("replay: no generation")
	}
	var tick *time.Ticker
	if o.Rate > 0 && !o.DryRun {
		tick = time.NewTicker(time.Duration(float64(time.Second) / o.Rate))
		defer tick.Stop()
	}
	every := max(o.ProgressEvery, 1)
	report := func() {
		if o.Progress != nil {
			o.Progress(st)
		}
	}
	err := Scan(ctx, js, stage.StreamFor(input), o.Filter.Since, func(m Msg) error {
		st.Scanned++
		a, err := stage.DecodeArticle(m.Data)
		if err != nil {
			st.Unreadable++
			return nil
		}
		if !o.Filter.Until.IsZero() && !m.Time.Before(o.Filter.Until) {
			return errStop
		}
		if !o.Filter.Match(a, m.Time) {
			return nil
		}
		st.Selected++
		if !o.DryRun {
			if tick != nil {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-tick.C:
				}
			}
			a.Replay = o.Generation
			dup, err := Republish(ctx, js, input, "replay", a)
			if err != nil {
				return err
			}
			if dup {
				st.Duplicates++
			} else {
				st.Published++
			}
		}
		if st.Selected%every == 0 {
			report()
		}
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	report()
	return st, err
}

// errStop ends a scan early without an error.
var errStop = errors.New("stop")

// Idle reports whether every consuming stage has caught up: nothing pending
// and nothing awaiting an ack (retries included).
func Idle(ctx context.Context, js jetstream.JetStream) (bool, error) {
	n, err := backlog(ctx, js, false)
	return err == nil && n == 0, err
}

// Backlog counts the articles in the pipeline not yet stored: the messages
// every consuming stage has pending or awaiting an ack. A stage whose
// consumer does not exist yet (not started yet) counts nothing.
func Backlog(ctx context.Context, js jetstream.JetStream) (int, error) {
	return backlog(ctx, js, true)
}

func backlog(ctx context.Context, js jetstream.JetStream, missingOK bool) (int, error) {
	n := 0
	for _, c := range stage.Consumers() {
		// Consumer fetches the consumer's info: no second request needed.
		cons, err := js.Consumer(ctx, stage.StreamFor(c.Input), c.Name)
		if missingOK && (errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound)) {
			continue
		}
		if err != nil {
			return 0, err
		}
		info := cons.CachedInfo()
		n += int(info.NumPending) + info.NumAckPending
	}
	return n, nil
}

// WaitIdle polls every `every` until Idle holds at two looks in a row and
// nc, flushed, has been handed what the server sent it (dead letters reach
// a subscription asynchronously). It returns ctx's error if ctx ends first,
// or check's if check, called at every look, fails.
func WaitIdle(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, every time.Duration, check func() error) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for idleLooks := 0; idleLooks < 2; {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if check != nil {
			if err := check(); err != nil {
				return err
			}
		}
		if idle, err := Idle(ctx, js); err == nil && idle && nc.Flush() == nil {
			idleLooks++
		} else {
			idleLooks = 0
		}
	}
	return nil
}
