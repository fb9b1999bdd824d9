// Package shared locates the project's shared/ data directory (beside the
// repository checkout): the evaluation command uses it as its default data,
// and package sharedtest skips tests when it is absent.
package shared

import (
	"os"
	"path/filepath"
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
