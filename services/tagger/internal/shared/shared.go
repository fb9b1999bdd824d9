// Package shared locates the project's shared/ data directory (beside the
// repository checkout): tests skip when it is absent, and the evaluation
// command uses it as its default data.
package shared

import (
	"os"
	"path/filepath"
	"testing"
)

// Find returns shared/<name>, found by walking up from the working
// directory, or "" when there is none.
func Find(name string) string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		candidate := filepath.Join(dir, "shared", name)
		if fi, err := os.Stat(candidate); err == nil && fi.IsDir() {
			return candidate
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Dir returns shared/<name>, or skips the test when there is none.
func Dir(t testing.TB, name string) string {
	t.Helper()
	d := Find(name)
	if d == "" {
		t.Skipf("shared/%s not found above the working directory", name)
	}
	return d
}
