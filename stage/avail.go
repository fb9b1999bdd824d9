package stage

import (
	"context"
	"sync"
)

// availability is whether the stage's dependencies can take work: a handler
// returning ErrUnavailable marks them down, the next message that goes
// through marks them up. While down, the stage pulls nothing and is not
// ready.
type availability struct {
	mu       sync.Mutex
	last     error
	upCh     chan struct{} // closed while up
	onChange func()
}

func newAvailability() *availability {
	up := make(chan struct{})
	close(up)
	return &availability{upCh: up}
}

func (a *availability) err() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

func (a *availability) down(err error) {
	a.mu.Lock()
	was := a.last
	a.last = err
	if was == nil {
		a.upCh = make(chan struct{})
	}
	f := a.onChange
	a.mu.Unlock()
	if was == nil && f != nil {
		f()
	}
}

func (a *availability) up() {
	a.mu.Lock()
	was := a.last
	if was != nil {
		a.last = nil
		close(a.upCh)
	}
	f := a.onChange
	a.mu.Unlock()
	if was != nil && f != nil {
		f()
	}
}

// wait blocks while the dependencies are down; false if ctx ended first.
func (a *availability) wait(ctx context.Context) bool {
	a.mu.Lock()
	ch := a.upCh
	a.mu.Unlock()
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		return false
	}
}

// broadcast is a signal that can fire many times: wait on the channel of
// C, which fire closes and replaces.
type broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

func newBroadcast() *broadcast { return &broadcast{ch: make(chan struct{})} }

// C returns a channel closed at the next fire.
func (s *broadcast) C() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch
}

func (s *broadcast) fire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.ch)
	s.ch = make(chan struct{})
}
