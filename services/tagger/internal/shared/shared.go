// Package shared locates the project's shared/ data directory (beside the
// repository checkout) for tests, which skip when it is absent.
package shared

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns shared/<name>, found by walking up from the working
// directory, or skips the test when there is none.
func Dir(t testing.TB, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		candidate := filepath.Join(dir, "shared", name)
		if fi, err := os.Stat(candidate); err == nil && fi.IsDir() {
			return candidate
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skipf("shared/%s not found above the working directory", name)
			return ""
		}
		dir = parent
	}
}
