package ops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/stage"
)

// DeadStream is the stream that keeps every stage's dead letters.
var DeadStream = stage.StreamFor(stage.SubjectDeadPrefix)

// Letter is one dead letter with its place in the dead-letter stream.
type Letter struct {
	Seq  uint64
	Time time.Time
	stage.DeadLetter
	// Data is the payload as stored: the original message, or nothing when
	// it was over the payload limit (see Original).
	Data []byte
}

// Filter selects dead letters; its zero value selects all.
type Filter struct {
	Stage, Reason, Source string
	// Since and Until bound the time the letter was dead-lettered.
	Since, Until time.Time
	// Seqs, when set, selects those sequence numbers only.
	Seqs []uint64
}

// Match reports whether f selects l.
func (f Filter) Match(l Letter) bool {
	return (f.Stage == "" || l.Stage == f.Stage) &&
		(f.Reason == "" || l.Reason == f.Reason) &&
		(f.Source == "" || strings.EqualFold(l.SourceHost(), f.Source)) &&
		(f.Since.IsZero() || !l.Time.Before(f.Since)) &&
		(f.Until.IsZero() || l.Time.Before(f.Until)) &&
		(len(f.Seqs) == 0 || slices.Contains(f.Seqs, l.Seq))
}

func letter(m Msg) Letter {
	return Letter{Seq: m.Seq, Time: m.Time, DeadLetter: stage.ParseDeadLetter(m.Header, m.Data), Data: m.Data}
}

// EachDead calls fn for every dead letter f selects, oldest first.
func EachDead(ctx context.Context, js jetstream.JetStream, f Filter, fn func(Letter) error) error {
	if len(f.Seqs) > 0 {
		for _, seq := range f.Seqs {
			l, err := GetDead(ctx, js, seq)
			if err != nil {
				return err
			}
			if f.Match(l) {
				if err := fn(l); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return Scan(ctx, js, DeadStream, f.Since, func(m Msg) error {
		if l := letter(m); f.Match(l) {
			return fn(l)
		}
		return nil
	})
}

// GetDead returns the dead letter at seq.
func GetDead(ctx context.Context, js jetstream.JetStream, seq uint64) (Letter, error) {
	m, err := Get(ctx, js, DeadStream, seq)
	if err != nil {
		return Letter{}, err
	}
	return letter(m), nil
}

// Original is the message the stage could not process: the dead letter's
// payload or, when that was left out for size, the message at its source
// while the source stream keeps it.
func Original(ctx context.Context, js jetstream.JetStream, l Letter) ([]byte, error) {
	if !l.PayloadOmitted {
		return l.Data, nil
	}
	stream, seqText, ok := strings.Cut(l.Source, ":")
	seq, err := strconv.ParseUint(seqText, 10, 64)
	if !ok || err != nil {
		return nil, fmt.Errorf("dead letter %d: payload left out and no source to find it at", l.Seq)
	}
	m, err := Get(ctx, js, stream, seq)
	if err != nil {
		return nil, fmt.Errorf("dead letter %d: payload left out, and the original is gone from %s: %w", l.Seq, l.Source, err)
	}
	return m.Data, nil
}

// DeleteDead removes the dead letter at seq.
func DeleteDead(ctx context.Context, js jetstream.JetStream, seq uint64) error {
	s, err := js.Stream(ctx, DeadStream)
	if err != nil {
		return err
	}
	if err := s.DeleteMsg(ctx, seq); err != nil {
		return fmt.Errorf("delete dead letter %d: %w", seq, err)
	}
	return nil
}

// ErrCannotRedrive is why a dead letter cannot go back to its stage: a
// source stage without an input, or an original that cannot be read.
var ErrCannotRedrive = errors.New("cannot redrive")

// RedriveGeneration is the replay generation a redrive of dead letter seq
// gives its article: the same for every redrive of one dead letter, so the
// duplicate window drops a redrive sent twice, and new for each letter.
func RedriveGeneration(seq uint64) string { return "d" + strconv.FormatUint(seq, 10) }

// Redrive sends l's original back to its stage's input as a replay (see
// stage.MsgID) and, once JetStream has stored it, deletes the dead letter:
// should it fail again, the stage dead-letters it anew. It returns the
// replay generation the article carries.
func Redrive(ctx context.Context, js jetstream.JetStream, l Letter) (string, error) {
	input := stage.InputOf(l.Stage)
	if input == "" {
		return "", fmt.Errorf("dead letter %d of stage %q: %w: the stage has no input (fetch the page again instead)", l.Seq, l.Stage, ErrCannotRedrive)
	}
	data, err := Original(ctx, js, l)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrCannotRedrive, err)
	}
	a, err := stage.DecodeArticle(data)
	if err != nil {
		return "", fmt.Errorf("dead letter %d: %w: %w", l.Seq, ErrCannotRedrive, err)
	}
	a.Replay = RedriveGeneration(l.Seq)
	if _, err := Republish(ctx, js, input, "redrive", a); err != nil {
		return "", err
	}
	return a.Replay, DeleteDead(ctx, js, l.Seq)
}

// Republish publishes a, which carries a replay generation, into subject
// under the replay message-id rule (stage.MsgID with by as the stage). It
// reports whether the duplicate window dropped it.
func Republish(ctx context.Context, js jetstream.JetStream, subject, by string, a *newsflowv1.Article) (duplicate bool, err error) {
	if a.GetReplay() == "" {
		return false, errors.New("republish: the article carries no replay generation")
	}
	msg, err := stage.ArticleMsg(subject, a)
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithTimeout(ctx, stage.PublishTry)
	defer cancel()
	ack, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID(stage.MsgID(by, a)))
	if err != nil {
		return false, fmt.Errorf("publish to %s: %w", subject, err)
	}
	return ack.Duplicate, nil
}
