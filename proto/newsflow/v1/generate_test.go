package newsflowv1

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedCodeIsFresh regenerates the Go code into a temporary
// directory with proto/gen.sh's tools and compares it with the committed
// file. It needs protoc; set NEWSFLOW_REQUIRE_TOOLS=1 (the test script does)
// to fail instead of skipping when protoc is missing.
func TestGeneratedCodeIsFresh(t *testing.T) {
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		if os.Getenv("NEWSFLOW_REQUIRE_TOOLS") != "" {
			t.Fatal("protoc not found (Debian package protobuf-compiler)")
		}
		t.Skip("protoc not found; install protobuf-compiler")
	}
	gen, err := exec.LookPath("protoc-gen-go")
	if err != nil {
		gopath, _ := exec.Command("go", "env", "GOPATH").Output()
		gen = filepath.Join(string(bytes.TrimSpace(gopath)), "bin", "protoc-gen-go")
		if _, err := os.Stat(gen); err != nil {
			if os.Getenv("NEWSFLOW_REQUIRE_TOOLS") != "" {
				t.Fatal("protoc-gen-go not found: run proto/gen.sh once")
			}
			t.Skip("protoc-gen-go not found: run proto/gen.sh once")
		}
	}
	out := t.TempDir()
	cmd := exec.Command(protoc, "-I", "../..", "--plugin=protoc-gen-go="+gen,
		"--go_out="+out, "--go_opt=paths=source_relative", "newsflow/v1/article.proto")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("protoc: %v\n%s", err, msg)
	}
	fresh, err := os.ReadFile(filepath.Join(out, "newsflow/v1/article.pb.go"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("article.pb.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh, committed) {
		t.Fatal("article.pb.go is stale: run proto/gen.sh and commit the result")
	}
}
