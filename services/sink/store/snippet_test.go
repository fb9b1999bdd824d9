package store

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestSnippet(t *testing.T) {
	numbered := func(n int) string {
		w := make([]string, n)
		for i := range w {
			w[i] = "w" + strings.Repeat("x", i%3)
		}
		return strings.Join(w, " ")
	}
	long := numbered(50) + " Target, " + numbered(50)
	tests := []struct {
		name       string
		text       string
		terms      []string
		wantPrefix string
		wantSuffix string
		contains   string
	}{
		{"short text whole", "One two three.", nil, "One two three.", "three.", ""},
		{"opening when no terms", long, nil, "w wx wxx", "…", ""},
		{"opening when no match", long, []string{"absent"}, "w wx wxx", "…", ""},
		{"around the match", long, []string{"target"}, "…", "…", "Target,"},
		{"match near the start", "alpha target beta", []string{"target"}, "alpha", "beta", "target"},
		{"prefix term", long, []string{"targ"}, "…", "…", "Target,"},
		{"no spaces", strings.Repeat("東京", 400), nil, "東京", "…", ""},
		{"empty", "", []string{"x"}, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := snippet(tt.text, tt.terms)
			require.True(t, strings.HasPrefix(got, tt.wantPrefix), got)
			require.True(t, strings.HasSuffix(got, tt.wantSuffix), got)
			require.Contains(t, got, tt.contains)
			require.LessOrEqual(t, len(strings.Fields(got)), snippetWords)
			require.LessOrEqual(t, utf8.RuneCountInString(got), snippetRunes+2)
		})
	}
}
