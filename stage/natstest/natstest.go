// Package natstest runs an embedded NATS server with JetStream for tests, on
// a random loopback port with storage in the test's temporary directory.
package natstest

import (
	"testing"

	"github.com/nats-io/nats-server/v2/server"

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
