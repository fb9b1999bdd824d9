// Package natstest runs an embedded NATS server with JetStream for tests, on
// a random loopback port with storage in the test's temporary directory.
package natstest

import (
	"testing"

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
