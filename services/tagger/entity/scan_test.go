package entity

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// initialsRE is the rule joinInitials implements by hand, kept as the
// reference it is checked against.
var initialsRE = regexp.MustCompile(`\b(?:[A-Z]\.){2,}`)

func joinInitialsRE(s string) string {
	return initialsRE.ReplaceAllStringFunc(s, func(m string) string { return strings.ReplaceAll(m, ".", "") })
}

func TestJoinInitials(t *testing.T) {
	for _, s := range []string{
		"", "U.S.", "the U.S. and the U.K.", "J.D. Vance", "A. Smith", "xU.S.", "U.S", "U.S.A.",
		"a.U.S.", "ÄU.S.", "end U.", "1U.S.", "_U.S.", "U.S.U.S. x", "A.B.c.", "no dots here",
	} {
		require.Equal(t, joinInitialsRE(s), joinInitials(s), "%q", s)
	}
}

func FuzzJoinInitials(f *testing.F) {
	f.Add("the U.S. and J.D. Vance")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := joinInitials(s), joinInitialsRE(s); got != want {
			t.Fatalf("joinInitials(%q) = %q, want %q", s, got, want)
		}
	})
}

func TestUnwrap(t *testing.T) {
	require.Equal(t, "a line broken here. Next line", unwrap("a line\nbroken\nhere. Next\nline"))
	require.Equal(t, "ends.\nNext", unwrap("ends.\nNext"))
	require.Equal(t, "one, two\n\nthree", unwrap("one,\ntwo\n\nthree"))
	require.Equal(t, "Zürich und\n1990", unwrap("Zürich\nund\n1990"))
	require.Equal(t, "\nstart", unwrap("\nstart"))
	require.Equal(t, "end\n", unwrap("end\n"))
}
