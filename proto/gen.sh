#!/usr/bin/env bash
# Regenerates the Go code for proto/. Needs protoc (Debian: protobuf-compiler
# and libprotobuf-dev, which holds the well-known types such as timestamp.proto)
# and protoc-gen-go at the version pinned in proto/go.mod.
set -euo pipefail
cd "$(dirname "$0")"
ver=$(GOWORK=off go list -m -f "{{.Version}}" google.golang.org/protobuf)
bin=$(go env GOPATH)/bin
if ! "$bin/protoc-gen-go" --version 2>/dev/null | grep -q "$ver"; then
  GOBIN="$bin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$ver"
fi
PATH="$bin:$PATH" protoc -I . --go_out=. --go_opt=paths=source_relative newsflow/v1/*.proto
