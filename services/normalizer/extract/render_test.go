package extract

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

func TestRenderBlocks(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"paragraphs, headings, items",
			"<h2>Head</h2><p>One <b>two</b>\n three.</p><ul><li>a</li><li>b</li></ul>",
			[]string{"Head", "One two three.", "a", "b"}},
		{"table rows with cells",
			"<table><tr><td>Team</td><td><a href=/t>Points</a></td></tr><tr><td><a href=/x>X</a></td><td><a href=/y>Y</a></td></tr></table>",
			[]string{"Team\tPoints", "X\tY"}},
		{"a line that is one link goes",
			`<p>The vote was close.</p><p><strong><a href="/other">SEE THE OTHER STORY</a></strong></p><ul><li><a href="/a">Related one</a></li></ul><p>It passed.</p>`,
			[]string{"The vote was close.", "It passed."}},
		{"a link inside a sentence stays",
			`<p>The <a href="/council">council</a> voted.</p><p><a href="/mayor">The mayor</a> said yes.</p>`,
			[]string{"The council voted.", "The mayor said yes."}},
		{"preformatted text keeps its lines",
			"<pre>a  b\nc</pre>",
			[]string{"a b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := html.Parse(strings.NewReader(tt.in))
			require.NoError(t, err)
			require.Equal(t, tt.want, renderBlocks(root, newBudget(time.Time{})))
		})
	}
}

// TestCollapseIsFieldsJoined: collapse, written to allocate at most once,
// gives what joining strings.Fields gives.
func TestCollapseIsFieldsJoined(t *testing.T) {
	parts := []string{"a", "Bé", " ", "  ", "\t", "\n", "\u00a0", "\u2009", "x y", "", "\r\n", "ünï"}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		var sb strings.Builder
		for range rng.IntN(8) {
			sb.WriteString(parts[rng.IntN(len(parts))])
		}
		s := sb.String()
		require.Equal(t, strings.Join(strings.Fields(s), " "), collapse(s), "%q", s)
	}
	clean := "already clean text"
	require.Equal(t, 0.0, testing.AllocsPerRun(10, func() { _ = collapse(clean) }))
}
