// Package natstest runs an embedded NATS server with JetStream for tests, on
// a random loopback port with storage in the test's temporary directory.
package natstest

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsflow/newsflow/stage/natsembed"
)

// Run starts a server that is shut down when the test ends.
func Run(tb testing.TB) *server.Server {
	tb.Helper()
	s, err := natsembed.Start(natsembed.Options{Port: -1, StoreDir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// JetStream opens a new client connection to s (closed when the test ends)
// and returns its JetStream handle. Each call is a separate client, like a
// second or restarted process.
func JetStream(tb testing.TB, s *server.Server) jetstream.JetStream {
	tb.Helper()
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		tb.Fatalf("connect to nats: %v", err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatalf("jetstream: %v", err)
	}
	return js
}

// Restartable is a server a test stops and starts again on the same port
// and store, as nats-server restarts in production.
type Restartable struct {
	tb   testing.TB
	dir  string
	port int
	srv  *server.Server
}

// RunRestartable starts a restartable server, shut down when the test ends.
func RunRestartable(tb testing.TB) *Restartable {
	tb.Helper()
	r := &Restartable{tb: tb, dir: tb.TempDir(), port: -1}
	r.Start()
	r.port = r.srv.Addr().(*net.TCPAddr).Port
	tb.Cleanup(func() {
		if r.srv != nil {
			r.srv.Shutdown()
			r.srv.WaitForShutdown()
		}
	})
	return r
}

// Start starts the server (again).
func (r *Restartable) Start() {
	r.tb.Helper()
	s, err := natsembed.Start(natsembed.Options{Port: r.port, StoreDir: r.dir})
	if err != nil {
		r.tb.Fatal(err)
	}
	r.srv = s
}

// Stop shuts the server down and waits until it is down.
func (r *Restartable) Stop() {
	r.srv.Shutdown()
	r.srv.WaitForShutdown()
	r.srv = nil
}

// JetStream opens a client connection that reconnects for ever, 50 ms
// apart (closed when the test ends), and returns it and its JetStream
// handle.
func (r *Restartable) JetStream() (jetstream.JetStream, *nats.Conn) {
	r.tb.Helper()
	nc, err := nats.Connect(r.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		r.tb.Fatalf("connect to nats: %v", err)
	}
	r.tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		r.tb.Fatalf("jetstream: %v", err)
	}
	return js, nc
}

// URL is the client URL of the server, the same across restarts.
func (r *Restartable) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", r.port) }

// Server is the server as last started (nil while stopped).
func (r *Restartable) Server() *server.Server { return r.srv }
