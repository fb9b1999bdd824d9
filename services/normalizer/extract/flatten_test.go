package extract

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

func TestCapDepth(t *testing.T) {
	deep := []byte("<html><body>" + strings.Repeat(`<div class="w"><span>`, 5000) +
		"<p>Text <b>bold</b></p><script>var s = '<p>not text</p>';</script>" + strings.Repeat("</span></div>", 5000) + "</body></html>")
	_, err := html.Parse(bytes.NewReader(deep))
	require.Error(t, err, "the page must be too deep for html.Parse, or the test proves nothing")

	flat, ok := capDepth(deep, newBudget(time.Time{}))
	require.True(t, ok)
	root, err := html.Parse(bytes.NewReader(flat))
	require.NoError(t, err)
	require.Equal(t, []string{"Text bold"}, renderBlocks(root, newBudget(time.Time{})))
	// <html> and <body> are open too.
	require.Equal(t, maxOpenDepth-2, strings.Count(string(flat), "<div")+strings.Count(string(flat), "<span"), "wrappers above the cap stay")

	_, ok = capDepth(deep, newBudget(time.Now().Add(-time.Second)))
	require.False(t, ok, "a spent budget stops the rewrite")
}

// TestExtractDeepPagePruned checks that a too-deep page goes through the
// whole extraction (pruning by class and readability) rather than the
// tokenizer's pass, which keeps every paragraph.
func TestExtractDeepPagePruned(t *testing.T) {
	para := "<p>The island ferry will run every forty minutes from the first of June, the operator said on Tuesday.</p>"
	page := "<html><body>" + strings.Repeat("<div>", 3000) + "<article>" + para +
		`<div class="share-tools"><p>Share this story with your friends on every network</p></div>` + para + "</article>" +
		strings.Repeat("</div>", 3000) + "</body></html>"
	e := newExtractor(t, WithMinChars(0))
	d, err := e.Extract([]byte(page), "text/html", "")
	require.NoError(t, err)
	require.NotContains(t, d.Text, "Share this story")
	require.Contains(t, d.Text, "The island ferry will run")
}
