// Package natsembed starts a NATS server with JetStream inside the process:
// the all-in-one runner's default and the test harness's.
package natsembed

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// usableDir makes sure dir exists and takes files.
func usableDir(dir string) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return fmt.Errorf("cannot write there: %w", err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// Start runs a server and waits until it accepts connections.
func Start(o Options) (*server.Server, error) {
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if err := usableDir(o.StoreDir); err != nil {
		// The server would only log this (it runs without logs) and never
		// become ready: say it.
		return nil, fmt.Errorf("embedded nats: storage %s: %w", o.StoreDir, err)
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

// The all-in-one's data directory: JetStream's storage in DATA/nats and,
// while it runs, its server's URL in DATA/nats.url and its HTTP address
// (API, /metrics) in DATA/http.addr, where commands such as "newsflow
// feeds" and "newsflow status" find them.
const (
	StoreSubdir = "nats"
	URLFile     = "nats.url"
	HTTPFile    = "http.addr"
)

// MaxPayload is the all-in-one's message size limit. It is above the
// fetcher's default page cap, so a page the fetcher accepts always fits.
const MaxPayload = 8 << 20

// StartDir starts a server on dataDir's storage with the all-in-one's
// limits.
func StartDir(dataDir string) (*server.Server, error) {
	return Start(Options{Port: -1, StoreDir: filepath.Join(dataDir, StoreSubdir), MaxPayload: MaxPayload})
}

// Record writes value to file (URLFile, HTTPFile) in dataDir; remove
// deletes it again.
func Record(dataDir, file, value string) (remove func(), err error) {
	path := filepath.Join(dataDir, file)
	if err := os.WriteFile(path, []byte(value+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("record %s: %w", file, err)
	}
	return func() { _ = os.Remove(path) }, nil
}

// Recorded is what a running all-in-one recorded in file under dataDir, ""
// when there is nothing. The file may be stale, left by a run that did not
// stop cleanly: connecting to it then fails.
func Recorded(dataDir, file string) string {
	b, err := os.ReadFile(filepath.Join(dataDir, file))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// HasStore reports whether dataDir holds JetStream storage of an earlier
// run.
func HasStore(dataDir string) bool {
	_, err := os.Stat(filepath.Join(dataDir, StoreSubdir))
	return err == nil
}
