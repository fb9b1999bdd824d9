package cli

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/cmd/newsflow/pipeline"
	"github.com/newsflow/newsflow/services/fetcher/fetcher"
	"github.com/newsflow/newsflow/services/normalizer/normalizer"
	"github.com/newsflow/newsflow/services/sink/sink"
	"github.com/newsflow/newsflow/services/tagger/tagger"
	"github.com/newsflow/newsflow/stage"
)

// cli runs a command and returns its exit code and output.
func cli(args ...string) (int, string) {
	var out bytes.Buffer
	code := Main(args, strings.NewReader(""), &out, &out)
	return code, out.String()
}

// startPipeline runs the all-in-one on data with the normalizer's minimum
// text length, as an operator's deployment after a fix would.
func startPipeline(t *testing.T, data string, minChars int) *pipeline.Pipeline {
	t.Helper()
	cfg := stage.DefaultConfig()
	cfg.LogLevel = "error"
	nc := normalizer.DefaultConfig()
	nc.MinChars = minChars
	p, err := pipeline.Start(t.Context(), pipeline.Options{
		DataDir: data, HTTPAddr: "127.0.0.1:0", Stage: cfg, Fetcher: fetcher.DefaultConfig(), Normalizer: nc, Tagger: tagger.DefaultConfig(),
		Sink:   sink.Config{Store: "sqlite:" + filepath.Join(data, "newsflow.db")},
		Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	return p
}

// TestDeadAndReplayCommands is an operator's session: a run dead-letters
// short articles; the operator lists and inspects them, lowers the
// normalizer's minimum length (the fix), redrives them (one goes through,
// one dies again), then replays the normalizer over the history.
func TestDeadAndReplayCommands(t *testing.T) {
	in, data := t.TempDir(), t.TempDir()
	long := strings.Repeat("The council met on Tuesday and approved the new tram line after a long debate. ", 6)
	files := map[string]string{
		"tram.html":  "<html><body><article><h1>Tram line approved</h1><p>" + long + "</p></article></body></html>",
		"ferry.html": "<html><body><article><h1>Ferry returns</h1><p>" + strings.ReplaceAll(long, "tram", "ferry") + "</p></article></body></html>",
		"short.html": "<html><body><article><h1>Short note</h1><p>The harbour reopened on Monday after the storm, the port authority said.</p></article></body></html>",
		"empty.html": "<html><body><nav>Home</nav></body></html>",
	}
	for name, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(in, name), []byte(body), 0o644))
	}
	out := runOnce(t, data, "-ingest", in)
	require.Contains(t, out, "dead letters: 2")

	// What died, with the pipeline stopped: the command opens its storage.
	out = runCLI(t, "dead", "-data", data)
	require.Regexp(t, `normalizer +empty_extraction +file +2 `, out)
	require.Contains(t, out, "2 dead letters\n")
	out = runCLI(t, "dead", "list", "-data", data, "-items", "-reason", "empty_extraction")
	seqs := regexp.MustCompile(`(?m)^(\d+) +\d{4}-`).FindAllStringSubmatch(out, -1)
	require.Len(t, seqs, 2, out)
	out = runCLI(t, "dead", "show", "-data", data, seqs[0][1], seqs[1][1])
	require.Regexp(t, `reason +empty_extraction`, out)
	require.Regexp(t, `url +file://.*/short.html`, out)
	require.Regexp(t, `through +fetcher\n`, out)
	require.Contains(t, out, "72 characters left, want at least 200")
	require.Contains(t, runCLI(t, "dead", "-data", data, "-stage", "tagger"), "no dead letters")

	code, out := cli("dead", "purge", "-data", data)
	require.Equal(t, 2, code, "purge without a selection is refused: %s", out)
	code, _ = cli("dead", "show", "-data", data, "x")
	require.Equal(t, 2, code)
	code, _ = cli("dead", "frobnicate")
	require.Equal(t, 2, code)

	// The fix, deployed: a shorter minimum. Redrive what died.
	p := startPipeline(t, data, 40)
	out = runCLI(t, "dead", "redrive", "-data", data, "-dry-run")
	require.Contains(t, out, "2 dead letters would go back to their stage")
	code, out = cli("dead", "redrive", "-data", data, "-wait", "60s")
	require.Equal(t, 1, code, "one died again: exit 1\n%s", out)
	require.Contains(t, out, "redriven 2 of 2 dead letters")
	require.Contains(t, out, "went through 1, died again 1")
	require.Contains(t, out, "died again normalizer empty_extraction: 1")
	out = runCLI(t, "dead", "-data", data)
	require.Contains(t, out, "1 dead letters\n", "the one that died again is back, the other gone")

	// Replay the normalizer over everything it was given (four pages, and
	// the two redriven copies): each article version once.
	out = runCLI(t, "replay", "-stage", "normalizer", "-data", data, "-dry-run")
	require.Regexp(t, `scanned 6 messages in .*: 6 selected, 0 sent`, out)

	// The fix is a new normalizer version: what did the old one make?
	versions := func() [][]string {
		out := runCLI(t, "replay", "-stage", "normalizer", "-data", data, "-versions")
		return regexp.MustCompile(`(?m)^\S+ \S+ +(\d+)  (\S+)$`).FindAllStringSubmatch(out, -1)
	}
	vs := versions()
	require.Len(t, vs, 2, "the first run's version, then the fix's")
	require.Equal(t, []string{"2", "1"}, []string{vs[0][1], vs[1][1]}, "tram and ferry by the old rules, the redriven note by the new")
	fixed := normalizer.DefaultConfig()
	fixed.MinChars = 40
	newer, err := fixed.Stamp()
	require.NoError(t, err)
	require.Equal(t, newer, vs[1][2])
	require.NotEqual(t, newer, vs[0][2])
	out = runCLI(t, "replay", "-stage", "normalizer", "-data", data, "-older-than", newer, "-dry-run")
	require.Contains(t, out, "2 stored articles were made by normalizer versions older than "+newer)
	require.Regexp(t, `scanned 6 messages in .*: 2 selected, 0 sent`, out)
	out = runCLI(t, "replay", "-stage", "normalizer", "-data", data, "-older-than", newer, "-rate", "0", "-wait", "60s")
	require.Regexp(t, `: 2 selected, 2 sent`, out)
	require.Contains(t, out, "went through 2, died 0")
	vs = versions()
	require.Equal(t, "0", vs[0][1], "nothing is left of the old version's work")
	require.Equal(t, []string{"3", newer}, vs[1][1:])
	require.Contains(t, runCLI(t, "replay", "-stage", "normalizer", "-data", data, "-older-than", newer, "-dry-run"), ": 0 selected")
	code, out = cli("replay", "-stage", "sink", "-data", data, "-older-than", newer)
	require.Equal(t, 2, code, "the store keeps no version of the sink: %s", out)

	code, out = cli("replay", "-stage", "normalizer", "-data", data, "-source", "file", "-generation", "r-test", "-rate", "0", "-wait", "60s")
	require.Equal(t, 1, code, "the empty page died again: exit 1\n%s", out)
	require.Regexp(t, `scanned 8 messages in .*: 8 selected, 4 sent, 4 already sent in this generation, 0 unreadable`, out)
	require.Contains(t, out, "went through 3, died 1")
	out = runCLI(t, "replay", "-stage", "normalizer", "-data", data, "-generation", "r-test")
	require.Contains(t, out, "12 selected, 0 sent, 12 already sent in this generation", "a generation replayed twice sends nothing new")
	code, out = cli("replay", "-stage", "fetcher", "-data", data)
	require.Equal(t, 2, code, out)
	require.NoError(t, p.Close())

	out = runCLI(t, "export", "-data", data)
	require.Equal(t, 3, strings.Count(out, "\n"), "tram, ferry and the redriven short note are stored:\n%s", out)
	require.Contains(t, out, "harbour reopened")
}

// TestStatusCommand: status against a running all-in-one reads the bus, its
// metrics (found under -data), the store and the dead letters.
func TestStatusCommand(t *testing.T) {
	in, data := t.TempDir(), t.TempDir()
	long := strings.Repeat("The council met on Tuesday and approved the new tram line after a long debate. ", 6)
	require.NoError(t, os.WriteFile(filepath.Join(in, "tram.html"), []byte("<html><body><article><p>"+long+"</p></article></body></html>"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(in, "empty.html"), []byte("<html><body><nav>Home</nav></body></html>"), 0o644))
	runOnce(t, data, "-ingest", in)
	p := startPipeline(t, data, 200)
	defer p.Close()
	code, out := cli("replay", "-stage", "normalizer", "-data", data, "-wait", "60s")
	require.Equal(t, 1, code, out) // the empty page dies again

	out = runCLI(t, "status", "-data", data, "-interval", "100ms")
	for _, want := range []string{"STAGE", "fetcher", "normalizer", "tagger", "sink",
		"dead letters  last hour: normalizer empty_extraction 2", "store         up, 1 articles"} {
		require.Contains(t, out, want)
	}
	var rep statusReport
	require.NoError(t, json.Unmarshal([]byte(runCLI(t, "status", "-data", data, "-interval", "100ms", "-json")), &rep))
	require.Len(t, rep.Stages, 4)
	require.True(t, rep.Store.Up)
	require.Equal(t, 1, rep.Store.Articles)
	require.Equal(t, 2, rep.Dead["normalizer empty_extraction"])
	norm := rep.Stages[1]
	require.Equal(t, "normalizer", norm.Name)
	require.NotNil(t, norm.P99, "the running pipeline's metrics were read")
	require.Equal(t, "lifetime", norm.P99Over, "nothing was processed between the two looks")
	require.Zero(t, norm.Pending)
	require.Equal(t, 1, norm.Waiting, "one replica pulling")
	require.Equal(t, 2, norm.DeadHour)
	v, err := normalizer.DefaultConfig().Stamp()
	require.NoError(t, err)
	require.Equal(t, map[string]int{v: 1}, norm.Versions, "the running normalizer's version")
	require.Len(t, rep.Stages[2].Versions, 1, "the tagger's")
	require.Contains(t, out, "versions      normalizer "+v+", tagger ")
}

func TestHistogramWindow(t *testing.T) {
	// 100 slow messages, then 100 fast ones between the two looks.
	before := &histogram{bounds: []float64{0.01, 0.1, 1, math.Inf(1)}, counts: []float64{0, 0, 0, 100}, total: 100}
	after := &histogram{bounds: before.bounds, counts: []float64{100, 100, 100, 200}, total: 200}
	require.True(t, math.IsInf(after.p99(), 1), "over the life, the slow ones decide")
	d := after.minus(before)
	require.Equal(t, 100.0, d.total)
	require.Equal(t, 0.01, d.p99(), "the interval was fast")
	restarted := &histogram{bounds: before.bounds, counts: []float64{5, 5, 5, 5}, total: 5}
	require.Equal(t, 5.0, restarted.minus(before).total, "a restarted process's counters begin again")
	require.Equal(t, 100.0, before.minus(nil).total)
}
