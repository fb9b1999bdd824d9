#!/usr/bin/env bash
# Runs the all-in-one pipeline and a real Prometheus on loopback with the
# repository's recording and alerting rules, so the alerts can be watched
# as they evaluate:
#
#   deploy/local/run.sh            # then open http://127.0.0.1:9090/alerts
#
# The pipeline serves /metrics on 127.0.0.1:8080 and reads the sample site;
# extra arguments go to "newsflow run" (e.g. -feeds URL). State lives in a
# temporary directory removed on exit. Needs Debian's prometheus package
# (apt-get install prometheus) or a prometheus binary on PATH.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
command -v prometheus >/dev/null || { echo "run.sh: prometheus not found (apt-get install prometheus)" >&2; exit 1; }
prom_addr="${PROMETHEUS_ADDR:-127.0.0.1:9090}"
tmp="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

(cd "$root" && go build -o "$tmp/newsflow" ./cmd/newsflow)
"$tmp/newsflow" run -data "$tmp/data" -http 127.0.0.1:8080 "$@" &
pids+=($!)
prometheus --config.file="$root/deploy/prometheus/local/prometheus.yml" \
  --storage.tsdb.path="$tmp/prometheus" \
  --web.listen-address="$prom_addr" --log.level=warn &
pids+=($!)
echo "prometheus    http://$prom_addr/alerts (rules from deploy/prometheus/rules)"
echo "press Ctrl-C to stop both"
wait -n "${pids[@]}"
