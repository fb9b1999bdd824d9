package extract

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTextLines(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"one paragraph per line", "First para.\nSecond para.\r\nThird para.", []string{"First para.", "Second para.", "Third para."}},
		{"blank separated long lines", "\ufeffFirst para.\n\n" + long120 + "\n\nThird.", []string{"First para.", long120, "Third."}},
		{"hard wrapped", "The council met\non Monday.\n\nIt voted\nto build.", []string{"The council met on Monday.", "It voted to build."}},
		{"hard wrapped list", "Stops added\nthis year:\n- Nordtor\n- Klinikum\n1. first\n2) second\n\nEnd.", []string{"Stops added this year:", "- Nordtor", "- Klinikum", "1. first", "2) second", "End."}},
		{"no blank lines never joins", "Short line\nanother short line", []string{"Short line", "another short line"}},
		{"one long line stops joining", "Short line\nanother\n\n" + long120, []string{"Short line", "another", long120}},
		{"trims and drops blanks", "  \n\tPara.  \n\n\n", []string{"Para."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, textLines([]byte(tt.in)))
		})
	}
}

const long120 = "This paragraph is deliberately longer than any hard-wrapped line could be, so the text it sits in is not treated as wrapped."

func TestTextTitle(t *testing.T) {
	tests := []struct {
		lines []string
		want  string
	}{
		{[]string{"Europe Rejoins Peace Talks", "Body."}, "Europe Rejoins Peace Talks"},
		{[]string{"A sentence that ends with a period.", "Body."}, ""},
		{[]string{"Only line"}, ""},
		{[]string{long120, "Body."}, ""},
		{[]string{"Breaking: what we know so far:", "Body."}, ""},
		{nil, ""},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, textTitle(tt.lines), "%q", tt.lines)
	}
}
