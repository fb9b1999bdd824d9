// Package natstest runs an embedded NATS server with JetStream for the
// fetcher's tests: random loopback port, storage in the test's temp dir.
//
// The stage module has an equivalent helper; this one keeps the fetcher's
// tests free of a dependency on the runtime while both are young.
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Server is a running embedded server.
type Server struct {
	*server.Server
}

// Run starts a server that shuts down when the test ends.
func Run(tb testing.TB) *Server {
	tb.Helper()
	s, err := server.NewServer(&server.Options{
		Host:      "127.0.0.1",
		Port:      -1,
		JetStream: true,
		StoreDir:  tb.TempDir(),
		NoSigs:    true,
		NoLog:     true,
	})
	if err != nil {
		tb.Fatalf("new nats server: %v", err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		tb.Fatal("nats server not ready within 10s")
	}
	tb.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return &Server{s}
}

// JetStream opens a new connection (closed when the test ends) and returns
// its JetStream handle. Each call is a separate client, like a restarted or
// second process.
func (s *Server) JetStream(tb testing.TB) jetstream.JetStream {
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
