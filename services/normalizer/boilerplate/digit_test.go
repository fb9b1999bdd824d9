package boilerplate

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNeedsDigit(t *testing.T) {
	for expr, want := range map[string]bool{
		`\d+`:                           true,
		`(?i)^jan(uary)? \d{1,2}$`:      true,
		`^(1|2)$`:                       true,
		`^[0-9]{2}:[0-9]{2}$`:           true,
		`^(\d+ )?comments$`:             false, // the digits are optional
		`^a|\d`:                         false, // one branch has none
		`^x?\d*$`:                       false,
		`^[0-9a]$`:                      false, // the class holds a letter
		`(?i)^read more$`:               false,
		`^(?:\d{1,4}|\d{1,2}:\d{2}) x$`: true,
	} {
		require.Equal(t, want, needsDigit(regexp.MustCompile(expr)), expr)
	}
}

// TestDigitSkipChangesNothing: the default rules give the same lines with
// the digit pre-check as without it, on lines with and without digits.
func TestDigitSkipChangesNothing(t *testing.T) {
	s, err := Default()
	require.NoError(t, err)
	lines := []string{
		"March 3, 2026", "Updated 10:45 GMT", "Monday", "Published on the third of March",
		"The council voted 7 to 2 on Monday.", "© 2026 Harbour Post", "Read more", "Share",
		"12 comments", "Comments", "Story continues below advertisement",
	}
	with := s.Apply(lines, "example.com")
	var digitRules int
	for _, r := range s.global.rules {
		digitRules += len(r.digit)
		r.digit = nil
	}
	require.Positive(t, digitRules, "the default rules have patterns that need a digit (date-line)")
	without := s.Apply(lines, "example.com")
	require.Equal(t, without.Lines, with.Lines)
	require.Equal(t, without.Fired, with.Fired)
}
