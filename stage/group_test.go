package stage

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestGroupStopsActorsThenClosesInReverse(t *testing.T) {
	g := NewGroup()
	var mu sync.Mutex
	var order []string
	note := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, s)
	}
	g.Defer("nats", func() error { note("close nats"); return nil })
	g.Defer("http", func() error { note("close http"); return errors.New("shutdown timed out") })
	for _, name := range []string{"normalizer", "sink"} {
		g.Go(name, func(ctx context.Context) error {
			<-ctx.Done()
			time.Sleep(10 * time.Millisecond) // a drain takes time
			note("stopped " + name)
			return nil
		})
	}
	select {
	case <-g.Done():
		t.Fatal("done before any actor returned")
	default:
	}
	err := g.Close()
	require.ErrorContains(t, err, "close http: shutdown timed out")
	require.NoError(t, g.Err())
	require.ElementsMatch(t, []string{"stopped normalizer", "stopped sink"}, order[:2], "actors stop before anything is closed")
	require.Equal(t, []string{"close http", "close nats"}, order[2:], "closers run in reverse order")
	require.Equal(t, err, g.Close(), "a second close returns the same")
	require.Len(t, order, 4, "closers run once")
}

func TestGroupEndsWhenAnActorReturns(t *testing.T) {
	g := NewGroup()
	stopped := make(chan struct{})
	g.Go("tagger", func(ctx context.Context) error { <-ctx.Done(); close(stopped); return nil })
	g.Go("http server", func(context.Context) error { return errors.New("address in use") })
	select {
	case <-g.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a failed actor did not end the group")
	}
	require.EqualError(t, g.Err(), "http server: address in use")
	require.NoError(t, g.Close())
	select {
	case <-stopped:
	default:
		t.Fatal("close did not stop the other actors")
	}
}
