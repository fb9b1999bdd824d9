package samplesite

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is the sample site listening on a local address.
type Server struct {
	URL string // base URL without a trailing slash, such as "http://127.0.0.1:41234"

	srv       *http.Server
	done      chan error
	closeOnce sync.Once
	closeErr  error
}

// Start listens on addr (for example "127.0.0.1:0" for a free port) and
// serves Handler in a goroutine until Close.
func Start(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	s := &Server{
		URL:  "http://" + ln.Addr().String(),
		srv:  &http.Server{Handler: Handler(), ReadHeaderTimeout: 10 * time.Second},
		done: make(chan error, 1),
	}
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return s, nil
}

// Close stops the server at once, closing open connections, and waits for
// the serving goroutine to return. Later calls return the first result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.srv.Close()
		if serveErr := <-s.done; serveErr != nil && s.closeErr == nil {
			s.closeErr = fmt.Errorf("serve: %w", serveErr)
		}
	})
	return s.closeErr
}
