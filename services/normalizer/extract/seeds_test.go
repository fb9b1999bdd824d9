package extract

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// sharedDir finds the shared/ directory that sits beside the repository
// root, walking up from the package directory.
func sharedDir(t *testing.T, sub string) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	require.NoError(t, err)
	for {
		p := filepath.Join(dir, "..", "shared", sub)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skipf("shared/%s not found beside the repository", sub)
		}
		dir = parent
	}
}

// seedBoilerplate lists, per seed file, the lines that must not survive:
// exact short lines, and blocks given by their first and last line.
var seedBoilerplate = map[string]struct {
	lines  []string
	blocks [][2]string // first line prefix, last line prefix; both and all between go
	strip  map[string]string
	title  string
}{
	"000": {
		lines: []string{
			"Have the article read by OpenAI (Beta). Please note that AI translations may take some time to process.",
			"––––––––––––––––––––––",
			"This article is an enr Key Story. The content is based on news by agencies participating in the enr.",
		},
		blocks: [][2]string{{"FACT CHECK: The history leading up to the war in Ukraine", "Read the fact check by German press agency dpa in full here."}},
	},
	"001": {strip: map[string]string{" | BGNES": ""}},
	"002": {
		lines:  []string{"William Lee", "Read full bio →", "You Might Also Like"},
		blocks: [][2]string{{"William Lee is an acclaimed American journalist", "William Lee is an acclaimed American journalist"}},
		title:  "Europe Rejoins Ukraine Peace Talks After Trump-Putin Summit",
	},
	"003": {},
	"004": {},
}

// TestSeeds checks on the shared seed articles that no boilerplate line
// survives and that every other line does, in order.
func TestSeeds(t *testing.T) {
	dir := sharedDir(t, "seeds")
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	e := newExtractor(t)
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			spec, ok := seedBoilerplate[name[:3]]
			if !ok {
				t.Skip("no expectations for this seed")
			}
			body, err := os.ReadFile(f)
			require.NoError(t, err)
			d, err := e.Extract(body, "text/plain", "")
			require.NoError(t, err)
			got := strings.Split(d.Text, "\n")
			require.Equal(t, spec.title, d.Title)

			var want []string
			nonEmpty := 0
			inBlock := -1
			for _, l := range strings.Split(string(body), "\n") {
				l = strings.TrimSpace(l)
				if l == "" {
					continue
				}
				nonEmpty++
				drop := false
				for _, b := range spec.lines {
					drop = drop || l == b
				}
				for i, b := range spec.blocks {
					if inBlock < 0 && strings.HasPrefix(l, b[0]) {
						inBlock = i
					}
					if inBlock == i {
						drop = true
						if strings.HasPrefix(l, b[1]) {
							inBlock = -1
						}
					}
				}
				if drop {
					continue
				}
				want = append(want, l)
			}
			require.Equal(t, -1, inBlock, "a boilerplate block of the spec never ended")
			if len(spec.strip) > 0 {
				last := want[len(want)-1]
				for suffix, repl := range spec.strip {
					require.True(t, strings.HasSuffix(last, suffix), "seed no longer ends in %q", suffix)
					last = strings.TrimSuffix(last, suffix) + repl
				}
				want[len(want)-1] = last
			}
			require.Equal(t, want, got)
			for _, b := range spec.lines {
				require.NotContains(t, d.Text, b)
			}
			// Each non-empty seed line is one block, so the count of removed
			// lines is exactly what the rules report.
			require.Equal(t, nonEmpty-len(got), d.LinesRemoved)
		})
	}
}
