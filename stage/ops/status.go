package ops

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsflow/newsflow/stage"
)

// StageState is one stage's place on the bus at one moment.
type StageState struct {
	Name string `json:"name"`
	// Pending is what waits in the input stream, not yet delivered (the
	// lag); AckPending what is delivered and not yet settled (in flight or
	// waiting for a retry); Waiting the pull requests outstanding, about
	// one per replica consuming; Redelivered what was delivered more than
	// once and is not settled.
	Pending     uint64 `json:"pending"`
	AckPending  int    `json:"ack_pending"`
	Waiting     int    `json:"pulling"`
	Redelivered int    `json:"redelivered"`
	// Delivered and Acked are the stream sequences of the last message
	// delivered and of the ack floor: their growth is the rate in and, for
	// the sink, the rate out.
	Delivered uint64 `json:"delivered_seq"`
	Acked     uint64 `json:"acked_seq"`
	// Output is the last sequence of the output stream (0: none).
	Output uint64 `json:"output_seq"`
	// Oldest is when the oldest message the stage has not settled was
	// stored (zero: none).
	Oldest time.Time `json:"oldest_unprocessed,omitzero"`
	// Err says why the stage's consumer could not be read.
	Err string `json:"error,omitempty"`
}

// Snapshot is every stage's state at one moment.
type Snapshot struct {
	At     time.Time    `json:"at"`
	Stages []StageState `json:"stages"`
}

// TakeSnapshot reads every stage's consumer and streams.
func TakeSnapshot(ctx context.Context, js jetstream.JetStream) Snapshot {
	snap := Snapshot{At: time.Now()}
	for _, t := range stage.Pipeline {
		st := StageState{Name: t.Name}
		if t.Output != "" {
			if s, err := js.Stream(ctx, stage.StreamFor(t.Output)); err == nil {
				st.Output = s.CachedInfo().State.LastSeq
			}
		}
		if t.Input != "" {
			readConsumer(ctx, js, t, &st)
		}
		snap.Stages = append(snap.Stages, st)
	}
	return snap
}

func readConsumer(ctx context.Context, js jetstream.JetStream, t stage.Topology, st *StageState) {
	stream := stage.StreamFor(t.Input)
	cons, err := js.Consumer(ctx, stream, t.Name)
	if err != nil {
		st.Err = err.Error()
		return
	}
	info := cons.CachedInfo()
	st.Pending, st.AckPending, st.Waiting, st.Redelivered = info.NumPending, info.NumAckPending, info.NumWaiting, info.NumRedelivered
	st.Delivered, st.Acked = info.Delivered.Stream, info.AckFloor.Stream
	if info.NumPending == 0 && info.NumAckPending == 0 {
		return
	}
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return
	}
	// The first message after the ack floor still held by the stream.
	if m, err := s.GetMsg(ctx, info.AckFloor.Stream+1, jetstream.WithGetMsgSubject(t.Input)); err == nil {
		st.Oldest = m.Time
	}
}

// Rates are a stage's throughput between two snapshots, in messages a
// second.
type Rates struct {
	In, Out float64
}

// RatesBetween is each stage's rates from a to b, by stage name.
func RatesBetween(a, b Snapshot) map[string]Rates {
	dt := b.At.Sub(a.At).Seconds()
	out := map[string]Rates{}
	if dt <= 0 || len(a.Stages) != len(b.Stages) {
		return out
	}
	per := func(x, y uint64) float64 {
		if y < x {
			return 0
		}
		return float64(y-x) / dt
	}
	for i, s := range b.Stages {
		p := a.Stages[i]
		r := Rates{In: per(p.Delivered, s.Delivered), Out: per(p.Output, s.Output)}
		if s.Output == 0 && p.Output == 0 {
			r.Out = per(p.Acked, s.Acked) // the sink: settled is its output
		}
		out[s.Name] = r
	}
	return out
}
