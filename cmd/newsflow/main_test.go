package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBinaryLinksNoTestCode: test helpers (packages testing, natstest,
// pgtest, storetest, sharedtest) stay out of the newsflow binary.
func TestBinaryLinksNoTestCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "testing" || strings.HasSuffix(pkg, "test") && strings.HasPrefix(pkg, "github.com/newsflow/") {
			t.Errorf("the binary links %s", pkg)
		}
	}
}
