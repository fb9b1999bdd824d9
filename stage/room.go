package stage

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// Room in a byte-bounded article stream (-stream-max-bytes). Such a stream
// discards nothing: when full it refuses new messages, and its publishers
// (the fetcher, the stage before) wait, holding their work, until there is
// room. What fills it is mostly history: messages every consumer has
// settled, kept for replays. The stage consuming the stream trims that
// history, oldest first, once the stream holds more than historyHigh of its
// bytes, down to historyLow, and never past its consumers' ack floor: a
// message not yet processed is never removed to make room.
const (
	historyHigh = 0.75
	historyLow  = 0.5
)

// ByteSize is a size flag in bytes that reads NATS's size suffixes, so one
// string means the same in nats.conf and here: K, M, G and T are powers of
// 1000; KB, MB, GB and TB (or KiB, MiB, GiB, TiB) powers of 1024.
type ByteSize int64

// sizeUnits are ByteSize's suffixes; the first name is the one printed.
var sizeUnits = []struct {
	names []string
	mult  int64
}{
	{[]string{"TiB", "TB", "Ti"}, 1 << 40}, {[]string{"GiB", "GB", "Gi"}, 1 << 30},
	{[]string{"MiB", "MB", "Mi"}, 1 << 20}, {[]string{"KiB", "KB", "Ki"}, 1 << 10},
	{[]string{"T"}, 1e12}, {[]string{"G"}, 1e9}, {[]string{"M"}, 1e6}, {[]string{"K"}, 1e3},
}

// String prints b in the largest unit that divides it.
func (b *ByteSize) String() string {
	if b == nil || *b == 0 {
		return "0"
	}
	best, name := int64(1), ""
	for _, u := range sizeUnits {
		if int64(*b)%u.mult == 0 && u.mult > best {
			best, name = u.mult, u.names[0]
		}
	}
	return strconv.FormatInt(int64(*b)/best, 10) + name
}

func (b *ByteSize) Set(s string) error {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
units:
	for _, u := range sizeUnits {
		for _, name := range u.names {
			if rest, ok := strings.CutSuffix(t, strings.ToLower(name)); ok {
				t, mult = strings.TrimSpace(rest), u.mult
				break units
			}
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || v*float64(mult) > math.MaxInt64 {
		return fmt.Errorf("%q is not a size such as 1048576, 500M, 6G or 6GiB", s)
	}
	*b = ByteSize(v * float64(mult))
	return nil
}

// keepRoom exports the size of stream, the stage's input, and, when it is
// byte-bounded and holds more than historyHigh of its bytes, trims its
// settled history. A stream found without the configured bound (made before
// -stream-max-bytes was set), or with another, gets it: an upgrade bounds
// the streams it finds.
//
// pressed reports that the stream was above historyHigh: the caller looks
// again soon, since its publishers may be waiting for room.
func (r *Runtime) keepRoom(ctx context.Context, stream string) (pressed bool, err error) {
	s, err := r.js.Stream(ctx, stream)
	if err != nil {
		return false, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return false, err
	}
	if want := int64(r.cfg.StreamMaxBytes); want > 0 && (info.Config.MaxBytes != want || info.Config.Discard != jetstream.DiscardNew) {
		c := info.Config
		c.MaxBytes, c.Discard = want, jetstream.DiscardNew
		if s, err = r.js.UpdateStream(ctx, c); err != nil {
			return false, fmt.Errorf("bound stream %s to %d bytes: %w", stream, want, err)
		}
		if info, err = s.Info(ctx); err != nil {
			return false, err
		}
		r.log.Info("bounded the input stream", "stream", stream, "max_bytes", want)
	}
	r.tel.streamBytes.WithLabelValues(stream).Set(float64(info.State.Bytes))
	r.tel.streamMaxBytes.WithLabelValues(stream).Set(float64(max(info.Config.MaxBytes, 0)))
	limit := info.Config.MaxBytes
	if limit <= 0 || info.State.Msgs == 0 || float64(info.State.Bytes) <= historyHigh*float64(limit) {
		return false, nil
	}
	floor, err := ackFloor(ctx, s)
	if err != nil || floor < info.State.FirstSeq {
		return true, err // nothing settled by every consumer: nothing to trim
	}
	// Messages are about the same size: drop as many of the oldest as
	// bring the stream to historyLow, at most up to the ack floor.
	avg := float64(info.State.Bytes) / float64(info.State.Msgs)
	drop := uint64(math.Ceil((float64(info.State.Bytes) - historyLow*float64(limit)) / avg))
	keep := min(info.State.FirstSeq+drop, floor+1)
	if keep <= info.State.FirstSeq {
		return true, nil
	}
	if err := s.Purge(ctx, jetstream.WithPurgeSequence(keep)); err != nil {
		return true, fmt.Errorf("trim the history of %s below %d: %w", stream, keep, err)
	}
	r.tel.trimmed.WithLabelValues(stream).Add(float64(keep - info.State.FirstSeq))
	r.log.Debug("trimmed settled history to make room", "stream", stream, "below_seq", keep,
		"bytes", info.State.Bytes, "max_bytes", limit)
	return true, nil
}

// ackFloor is the last stream sequence every explicitly acking consumer of
// s has settled, with everything before it; 0 when there is none.
func ackFloor(ctx context.Context, s jetstream.Stream) (uint64, error) {
	floor, found := uint64(math.MaxUint64), false
	list := s.ListConsumers(ctx)
	for c := range list.Info() {
		if c.Config.AckPolicy != jetstream.AckExplicitPolicy {
			continue // an ordered reader (a replay's scan) settles nothing
		}
		floor, found = min(floor, c.AckFloor.Stream), true
	}
	if err := list.Err(); err != nil && !errors.Is(err, jetstream.ErrEndOfData) {
		return 0, err
	}
	if !found {
		return 0, nil
	}
	return floor, nil
}
