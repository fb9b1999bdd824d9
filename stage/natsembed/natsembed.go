// Package natsembed starts a NATS server with JetStream inside the process:
// the all-in-one runner's default and the test harness's.
package natsembed

import (
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Options configure an embedded server.
type Options struct {
	// Host and Port to listen on; Port -1 picks a free port.
	Host string
	Port int
	// StoreDir holds JetStream's file storage.
	StoreDir string
	// MaxPayload is the largest message in bytes (0: the server default, 1 MiB).
	MaxPayload int32
	// HTTPPort, when non-zero, serves the NATS monitoring endpoints.
	HTTPPort int
}

// Start runs a server and waits until it accepts connections.
func Start(o Options) (*server.Server, error) {
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	opts := &server.Options{
		ServerName: "newsflow-embedded",
		Host:       o.Host,
		Port:       o.Port,
		JetStream:  true,
		StoreDir:   o.StoreDir,
		MaxPayload: o.MaxPayload,
		HTTPHost:   o.Host,
		HTTPPort:   o.HTTPPort,
		NoSigs:     true,
		NoLog:      true,
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("embedded nats: not ready after 10s")
	}
	return s, nil
}
