#!/usr/bin/env bash
# Runs every test of every module in the workspace: the README's test command.
# Installs what the tests need first (protoc, PostgreSQL and Prometheus from Debian, the
# pinned protoc-gen-go); the end-to-end tests build nats-server from the version
# pinned in e2e/go.mod themselves.
set -euo pipefail
cd "$(dirname "$0")"

need_apt=()
command -v protoc >/dev/null 2>&1 || need_apt+=(protobuf-compiler)
# protoc finds google/protobuf/timestamp.proto in /usr/include; that file
# comes with libprotobuf-dev, which --no-install-recommends leaves out.
[ -f /usr/include/google/protobuf/timestamp.proto ] || need_apt+=(libprotobuf-dev)
# The sink's PostgreSQL tests initialise throwaway clusters (initdb, pg_ctl).
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null 2>&1 || need_apt+=(postgresql)
# deploy/: promtool and the prometheus server (checks of rules, dashboards)
{ command -v promtool && command -v prometheus; } >/dev/null 2>&1 || need_apt+=(prometheus)
if ((${#need_apt[@]})); then
  echo "test.sh: installing ${need_apt[*]}"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
pgg_version=$(cd proto && GOWORK=off go list -m -f '{{.Version}}' google.golang.org/protobuf)
GOBIN="$(go env GOPATH)/bin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@${pgg_version}"

mapfile -t dirs < <(go list -m -f '{{.Dir}}')
pkgs=("${dirs[@]/%//...}")

echo "test.sh: gofmt"
unformatted=$(gofmt -l "${dirs[@]}" | grep -v '\.pb\.go$' || true)
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
echo "test.sh: go vet"
go vet "${pkgs[@]}"
echo "test.sh: go test -race (${#dirs[@]} modules)"
NEWSFLOW_REQUIRE_TOOLS=1 go test -race -count=1 -timeout 20m "$@" "${pkgs[@]}"
echo "test.sh: tagger evaluation targets (without -race: it tags the whole topic benchmark)"
(cd services/tagger && go test -count=1 "$@" -run '^TestTargets$' ./evaluate/)
echo "test.sh: short soak run (without -race: it measures the pipeline at speed)"
(cd cmd/newsflow && go test -count=1 "$@" -run '^TestShortSoak$' ./soak/)
