package stage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Group is a process's lifecycle, in the style of oklog/run's Group: actors
// run until the group stops, and closers release what was started. Parts
// are added in start order (a server before what uses it); Close then stops
// every actor together, waits for them, and runs the closers in reverse
// order, so what was started first is released last. stage.Main and the
// all-in-one both run on a Group, so the shutdown order is written once:
//
//	stage work (drains in-flight messages) → NATS connections (flush acks)
//	→ HTTP server (serves /metrics and /readyz until here) → embedded NATS
type Group struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	done     chan struct{} // closed when the first actor returns
	doneOnce sync.Once

	mu      sync.Mutex
	err     error // the first actor's error
	closers []closer

	closeOnce sync.Once
	closeErr  error
}

type closer struct {
	name string
	fn   func() error
}

// NewGroup returns an empty group.
func NewGroup() *Group {
	ctx, cancel := context.WithCancel(context.Background())
	return &Group{ctx: ctx, cancel: cancel, done: make(chan struct{})}
}

// Go runs an actor in its own goroutine with a context that ends when the
// group closes. An actor returning, with or without an error, ends Done:
// a process stops when any of its parts does.
func (g *Group) Go(name string, run func(ctx context.Context) error) {
	g.wg.Go(func() {
		err := run(g.ctx)
		if err != nil {
			g.mu.Lock()
			if g.err == nil {
				g.err = fmt.Errorf("%s: %w", name, err)
			}
			g.mu.Unlock()
		}
		g.doneOnce.Do(func() { close(g.done) })
	})
}

// Defer registers fn to run at Close, after every actor has returned, in
// reverse order of registration.
func (g *Group) Defer(name string, fn func() error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closers = append(g.closers, closer{name, fn})
}

// Done is closed once an actor has returned.
func (g *Group) Done() <-chan struct{} { return g.done }

// Err is the first error an actor returned, nil while none has.
func (g *Group) Err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// Close stops the actors and waits for them, then runs the closers in
// reverse order of registration. It returns the closers' errors (the
// actors' is Err); calling it again returns the same.
func (g *Group) Close() error {
	g.closeOnce.Do(func() {
		g.cancel()
		g.wg.Wait()
		g.mu.Lock()
		closers := slices.Clone(g.closers)
		g.mu.Unlock()
		var errs []error
		for _, c := range slices.Backward(closers) {
			if err := c.fn(); err != nil {
				errs = append(errs, fmt.Errorf("close %s: %w", c.name, err))
			}
		}
		g.closeErr = errors.Join(errs...)
	})
	return g.closeErr
}
