package natsembed

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUnusableStorageIsReported: a store directory that cannot be used is
// reported at once with its cause. Before, the server only failed to become
// ready: "embedded nats: not ready after 10s".
func TestUnusableStorageIsReported(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	s, err := Start(Options{Port: -1, StoreDir: filepath.Join(file, "nats")})
	if err == nil {
		s.Shutdown()
		t.Fatal("started on storage under a file")
	}
	if !strings.Contains(err.Error(), "not a directory") || time.Since(start) > 5*time.Second {
		t.Fatalf("after %s: %v", time.Since(start), err)
	}
}
