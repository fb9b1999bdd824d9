package cli

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/services/fetcher/fetcher"
)

const articleHTML = `<!doctype html><html lang="en"><head><title>Council approves tram line | Gazette</title>
<script type="application/ld+json">{"@type":"NewsArticle","headline":"Council approves tram line","author":{"name":"Ana Ruiz"},"datePublished":"2026-03-10T08:00:00Z"}</script>
</head><body><nav><a href="/">Home</a></nav><article><h1>Council approves tram line</h1>
<p>The city council approved the eastern tram extension on Tuesday after an eleven-hour debate, the mayor's office said.</p>
<p>Construction of the four-kilometre line is due to begin next spring and to cost about ninety million crowns in total.</p>
<p>Opposition councillors said the money would be better spent on buses, but the motion passed by twenty-one votes to fourteen.</p>
<div class="newsletter">Sign up for our newsletter</div></article></body></html>`

func TestExtractCommand(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "tram.html")
	require.NoError(t, os.WriteFile(page, []byte(articleHTML), 0o644))
	var stdout, stderr bytes.Buffer
	code := Main([]string{"extract", page, "-"}, strings.NewReader(articleHTML), &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	require.Len(t, lines, 2, "one JSON object per input")
	for i, file := range []string{page, "-"} {
		var got extracted
		require.NoError(t, json.Unmarshal([]byte(lines[i]), &got))
		require.Equal(t, file, got.File)
		require.Equal(t, "Council approves tram line", got.Title)
		require.Equal(t, "Ana Ruiz", got.Byline)
		require.Equal(t, "en", got.Language)
		require.NotNil(t, got.Published)
		require.Len(t, strings.Split(got.Text, "\n"), 3, got.Text)
		require.NotContains(t, got.Text, "newsletter")
	}
}

func TestExtractCommandReportsFailures(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Main([]string{"extract", filepath.Join(t.TempDir(), "missing.html")}, nil, &stdout, &stderr)
	require.Equal(t, 1, code)
	var got extracted
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &got))
	require.Contains(t, got.Error, "no such file")
	require.Equal(t, 2, Main([]string{"extract"}, nil, &stdout, &stderr), "no files is a usage error")
}

func TestTagCommand(t *testing.T) {
	in := `{"id":"1","title":"Rovers win the cup final","text":"Rovers beat United 2-1 in the cup final on Saturday. The striker scored twice and the coach praised the team after the match at the stadium."}
{"id":"2","title":"Zentralbank erhöht den Leitzins","text":"Die Zentralbank hat den Leitzins erneut erhöht, um die Inflation zu bekämpfen. Banken und Unternehmen rechnen mit höheren Kreditkosten, die Börse reagierte mit Verlusten."}
`
	var stdout, stderr bytes.Buffer
	code := Main([]string{"tag"}, strings.NewReader(in), &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	dec := json.NewDecoder(&stdout)
	want := []struct{ id, lang, topic string }{{"1", "en", "medtop:15000000"}, {"2", "de", "medtop:04000000"}}
	for _, w := range want {
		var got tagOutput
		require.NoError(t, dec.Decode(&got))
		require.Equal(t, w.id, got.ID)
		require.Equal(t, w.lang, got.Language)
		require.NotEmpty(t, got.Topics)
		require.Equal(t, w.topic, got.Topics[0].Code, "article %s: %v", w.id, got.Topics)
		require.NotEmpty(t, got.Keywords)
	}
}

func TestTagCommandRejectsBadLines(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Main([]string{"tag"}, strings.NewReader("{not json}\n"), &stdout, &stderr)
	require.Equal(t, 1, code)
	require.Contains(t, stdout.String(), `"error":"line 1:`)
}

func TestUnknownCommandAndBadFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.Equal(t, 2, Main([]string{"frobnicate"}, nil, &stdout, &stderr))
	require.Equal(t, 2, Main([]string{"run", "-workers", "0", "-once"}, nil, &stdout, &stderr))
	require.Contains(t, stderr.String(), "-workers:")
	stderr.Reset()
	require.Equal(t, 0, Main([]string{"run", "-h"}, nil, &stdout, &stderr))
	require.Contains(t, stderr.String(), "NEWSFLOW_FEEDS_FILE")
}

// endless is a reader that never ends, as /dev/zero or a runaway pipe.
type endless struct{ read int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '<'
	}
	e.read += int64(len(p))
	return len(p), nil
}

// TestExtractInputIsCapped: stdin, a device and a file stop at
// -max-page-bytes with a clear error; random bytes are refused as binary.
// Before, extract read stdin without limit (646 MB RSS for 300 MB) and
// printed a text of U+FFFD for random bytes, exiting 0.
func TestExtractInputIsCapped(t *testing.T) {
	var stdout, stderr bytes.Buffer
	in := &endless{}
	code := Main([]string{"extract", "-max-page-bytes", "100000", "-"}, in, &stdout, &stderr)
	require.Equal(t, 1, code)
	require.Contains(t, stdout.String(), "page too large")
	require.LessOrEqual(t, in.read, int64(200_000), "reading stops at the cap")

	if _, err := os.Stat("/dev/zero"); err == nil {
		stdout.Reset()
		require.Equal(t, 1, Main([]string{"extract", "/dev/zero"}, nil, &stdout, &stderr))
		require.Contains(t, stdout.String(), "page too large")
	}

	random := make([]byte, 5000)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range random {
		random[i] = byte(rng.UintN(256))
	}
	stdout.Reset()
	require.Equal(t, 1, Main([]string{"extract", "-"}, bytes.NewReader(random), &stdout, &stderr))
	require.Contains(t, stdout.String(), "binary data")
}

// TestTagRefusesNonArticles: a null (or any non-object) line is an error,
// and a binary -model file is refused without printing its bytes. Before,
// tag accepted null and echoed the binary in its error.
func TestTagRefusesNonArticles(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Main([]string{"tag"}, strings.NewReader("null\n42\n\"text\"\n"), &stdout, &stderr)
	require.Equal(t, 1, code)
	require.Equal(t, 3, strings.Count(stdout.String(), `"error":"line `), stdout.String())
	require.Contains(t, stdout.String(), `"error":"line 1: want a JSON object`)

	model := filepath.Join(t.TempDir(), "model.bin")
	junk := []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00>\x00\x01\x00secret-bytes\x00\x01\x02")
	require.NoError(t, os.WriteFile(model, junk, 0o644))
	stdout.Reset()
	stderr.Reset()
	code = Main([]string{"tag", "-model", model}, strings.NewReader(""), &stdout, &stderr)
	require.NotZero(t, code)
	require.Contains(t, stderr.String(), "not a model file")
	require.NotContains(t, stderr.String(), "secret-bytes")
	require.NotContains(t, stderr.String(), "ELF")
}

func TestAllFeedsFailed(t *testing.T) {
	require.NoError(t, allFeedsFailed(fetcher.Stats{FeedsPolled: 3, FeedsFailed: map[string]int{"dns": 2}}))
	require.NoError(t, allFeedsFailed(fetcher.Stats{}))
	require.ErrorContains(t, allFeedsFailed(fetcher.Stats{FeedsPolled: 3, FeedsFailed: map[string]int{"dns": 2, "http_5xx": 1}}), "every feed failed")
}
