package cli

import (
	"bytes"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestREADMECommandTable holds the README's command table to the command
// table the usage text is made from: every command is documented there,
// and the README documents no command that does not exist.
func TestREADMECommandTable(t *testing.T) {
	readme, err := os.ReadFile("../../../README.md")
	require.NoError(t, err)
	_, table, ok := strings.Cut(string(readme), "\n## The command line\n")
	require.True(t, ok, "README has a command-line section")
	table, _, _ = strings.Cut(table, "\n## ")
	row := regexp.MustCompile("(?m)^\\| `newsflow( [a-z]+)?")
	documented := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(table, -1) {
		name := strings.TrimSpace(m[1])
		if name == "" {
			name = "run" // "newsflow" alone runs the pipeline
		}
		documented[name] = true
	}
	var names []string
	for _, c := range commands {
		names = append(names, c.name)
		require.True(t, documented[c.name], "command %q is missing from the README's command table", c.name)
	}
	for name := range documented {
		require.True(t, slices.Contains(names, name), "the README documents %q, which is no command", name)
	}

	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, Main([]string{"help"}, nil, &stdout, &stderr))
	for _, c := range commands {
		require.Contains(t, stdout.String(), "newsflow "+strings.Fields(c.synopsis[len(c.synopsis)-1])[0], "usage shows %s", c.name)
	}
	stdout.Reset()
	require.Equal(t, 2, Main([]string{"nonesuch"}, nil, &stdout, &stderr))
	require.Contains(t, stderr.String(), `unknown command "nonesuch"`)
}
