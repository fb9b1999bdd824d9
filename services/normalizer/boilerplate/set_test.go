package boilerplate

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"field outside rule", "kind drop", "outside a rule"},
		{"unknown kind", "rule a\nkind zap\nmatch x\nin x\nout", "unknown kind"},
		{"no kind", "rule a\nmatch x\nin x\nout", "no kind"},
		{"no match", "rule a\nkind drop\nin x\nout x", "no match pattern"},
		{"block without end", "rule a\nkind block\nstart x\nin x\nout x", "block needs start and end"},
		{"bad regexp", "rule a\nkind drop\nmatch (\nin x\nout", "match"},
		{"no test", "rule a\nkind drop\nmatch ^x$", "no test case"},
		{"in without out", "rule a\nkind drop\nmatch ^x$\nin x", "in without out"},
		{"out without in", "rule a\nkind drop\nmatch ^x$\nout x", "out without in"},
		{"failing test", "rule a\nkind drop\nmatch ^x$\nin x\\ny\nout x\\ny", "test 1"},
		{"duplicate", "rule a\nkind drop\nmatch ^x$\nin x\nout\nrule a\nkind drop\nmatch ^y$\nin y\nout", "defined twice"},
		{"bad where", "rule a\nkind drop\nwhere middle", "unknown where"},
		{"bad span", "rule a\nkind block\nspan 0", "bad span"},
		{"bad tail", "rule a\nkind cut\ntail 2", "bad tail"},
		{"bad maxlen", "rule a\nkind drop\nmaxlen x", "bad maxlen"},
		{"bad anchor", "rule a\nkind block\nanchor middle", "anchor"},
		{"unknown field", "rule a\nkind drop\ncolour red", "unknown field"},
		{"empty host", "host", "missing name"},
		{"empty disable", "disable", "missing rule name"},
		{"inner outside block", "rule a\nkind drop\nmatch x\ninner y\nin x\nout", "inner is for block rules"},
		{"after outside cut", "rule a\nkind drop\nmatch x\nafter y\nin x\nout", "after is for cut rules"},
		{"bad inner", "rule a\nkind block\nstart x\nend y\ninner (", "inner"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.src))
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// TestRuleConditions pins the conditions a rule can put on its context:
// inner lines of a block, lines after a cut, and the "strip" group.
func TestRuleConditions(t *testing.T) {
	tests := []struct {
		name, src string
		in, want  []string
	}{
		{
			"block inner lines must match",
			"rule a\nkind block\nstart ^S$\nend ^E$\ninner ^bio\nwhere any\nin S\\nbio\\nE\nout",
			[]string{"S", "bio one", "prose", "E", "S", "bio two", "E"}, []string{"S", "bio one", "prose", "E"},
		},
		{
			"block inner lines obey maxlen",
			"rule a\nkind block\nstart ^S$\nend ^E$\nmaxlen 5\nwhere any\nin S\\nE\nout",
			[]string{"S", "too long", "E", "S", "short", "E"}, []string{"S", "too long", "E"},
		},
		{
			"cut only before matching lines",
			"rule a\nkind cut\nmatch ^More$\nafter ^[^.]*$\nwhere any\nin More\nout",
			[]string{"More", "Prose.", "x", "More", "Headline"}, []string{"More", "Prose.", "x"},
		},
		{
			"strip only the strip group",
			"rule a\nkind strip\nmatch [.](?P<strip> \\(X\\))$\nin a. (X)\nout a.",
			[]string{"Done. (X)"}, []string{"Done."},
		},
		{
			"strip group context is required",
			"rule a\nkind strip\nmatch [.](?P<strip> \\(X\\))$\nin a. (X)\nout a.",
			[]string{"Done (X)"}, []string{"Done (X)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(tt.src))
			require.NoError(t, err)
			got, _ := s.Rules()[0].Apply(slices.Clone(tt.in))
			require.Equal(t, tt.want, got)
		})
	}
}

const overrides = `# per-site rules
host news.example
disable separator
rule newsroom-promo
kind drop
match ^Download the Newsroom app
in A.\nDownload the Newsroom app today
out A.
host other.example
rule advertisement
kind drop
match ^ADVERT$
in A.\nADVERT
out A.
host *
disable copyright
`

func TestSetHosts(t *testing.T) {
	def, err := Default()
	require.NoError(t, err)
	o, err := Parse([]byte(overrides))
	require.NoError(t, err)
	s := def.Merge(o)

	lines := []string{"Para one.", "-----", "Download the Newsroom app today", "Advertisement", "ADVERT", "© 2025 News", "Para two."}
	orig := slices.Clone(lines)
	tests := []struct {
		host      string
		want      []string
		wantFired []string
	}{
		{
			host:      "",
			want:      []string{"Para one.", "Download the Newsroom app today", "ADVERT", "© 2025 News", "Para two."},
			wantFired: []string{"advertisement", "separator"},
		},
		{
			host:      "www.news.example",
			want:      []string{"Para one.", "-----", "ADVERT", "© 2025 News", "Para two."},
			wantFired: []string{"advertisement", "newsroom-promo"},
		},
		{
			// The site's own "advertisement" replaces the default one there.
			host:      "OTHER.example",
			want:      []string{"Para one.", "Download the Newsroom app today", "Advertisement", "© 2025 News", "Para two."},
			wantFired: []string{"advertisement", "separator"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			res := s.Apply(lines, tt.host)
			require.Equal(t, tt.want, res.Lines)
			require.Equal(t, tt.wantFired, res.Fired)
			require.Equal(t, len(lines)-len(tt.want), res.Removed)
		})
	}
	require.Equal(t, orig, lines, "Apply must not modify its input")
	// The merge leaves the defaults as they were: copyright still on.
	require.Empty(t, def.Apply([]string{"© 2025 News"}, "").Lines)
}

func TestLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "site.rules")
	require.NoError(t, os.WriteFile(path, []byte(overrides), 0o600))
	s, err := LoadFile(path)
	require.NoError(t, err)
	require.Len(t, s.Rules(), 2)

	require.NoError(t, os.WriteFile(path, []byte("rule broken\n"), 0o600))
	_, err = LoadFile(path)
	require.ErrorContains(t, err, path)
	_, err = LoadFile(filepath.Join(t.TempDir(), "missing"))
	require.Error(t, err)
}

// TestRuleOrder checks that a sign-off is stripped from the last line left
// after the tail rules, not from a line they remove.
func TestRuleOrder(t *testing.T) {
	s, err := Default()
	require.NoError(t, err)
	in := strings.Split("First paragraph.\nSecond paragraph.\nLast paragraph. | AFP\nYou Might Also Like\nOther story | XYZ", "\n")
	res := s.Apply(in, "")
	require.Equal(t, []string{"First paragraph.", "Second paragraph.", "Last paragraph."}, res.Lines)
	require.Equal(t, []string{"agency-signoff", "related-tail"}, res.Fired)
}
