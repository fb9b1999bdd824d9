// Package sharedtest gives tests the project's shared/ data, skipping them
// when it is absent. It is for tests only; code that runs in the binaries
// uses package shared.
package sharedtest

import (
	"testing"

	"github.com/newsflow/newsflow/services/tagger/internal/shared"
)

// Dir returns shared/<name>, or skips the test when there is none.
func Dir(t testing.TB, name string) string {
	t.Helper()
	d := shared.Find(name)
	if d == "" {
		t.Skipf("shared/%s not found above the working directory", name)
	}
	return d
}
