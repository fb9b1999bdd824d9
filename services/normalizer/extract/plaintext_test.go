package extract

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTextLines(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"one paragraph per line", "First para.\nSecond para.\r\nThird para.", []string{"First para.", "Second para.", "Third para."}},
		{"blank separated long lines", "\ufeffFirst para.\n\n" + long120 + "\n\nThird.", []string{"First para.", long120, "Third."}},
		{"hard wrapped", wrapText(wrapPara1, 60) + "\n\n" + wrapText(wrapPara2, 60), []string{wrapPara1, wrapPara2}},
		{
			"hard wrapped list",
			wrapText(wrapPara1, 60) + "\nStops added this year:\n- Nordtor\n- Klinikum\n1. first\n2) second\n\n" + wrapText(wrapPara2, 60),
			[]string{wrapPara1 + " Stops added this year:", "- Nordtor", "- Klinikum", "1. first", "2) second", wrapPara2},
		},
		{"no blank lines never joins", "Short line\nanother short line", []string{"Short line", "another short line"}},
		{"one long line stops joining", wrapText(wrapPara1, 60) + "\n\n" + long120, append(strings.Split(wrapText(wrapPara1, 60), "\n"), long120)},
		{"trims and drops blanks", "  \n\tPara.  \n\n\n", []string{"Para."}},
		// One paragraph per line under a headline: short lines and a blank
		// line are no evidence of wrapping, so nothing is merged and
		// "Advertisement" stays a line of its own for the rules to drop.
		{
			"per line under a headline",
			"Headline\n\nPara one.\nAdvertisement\nPara two.",
			[]string{"Headline", "Para one.", "Advertisement", "Para two."},
		},
		{
			"per line sentences of wrap-like length",
			"Harbour wall to be rebuilt\n\nThe council voted on Monday to rebuild the harbour wall.\nAdvertisement\nWork will start in spring and last two years.\nThe cost is put at 4 million euros.\n",
			[]string{"Harbour wall to be rebuilt", "The council voted on Monday to rebuild the harbour wall.", "Advertisement", "Work will start in spring and last two years.", "The cost is put at 4 million euros."},
		},
		{
			"per line sentences near the wrap limit",
			"Headline\n\nThe council voted on Monday to rebuild the old harbour wall by the ferry pier.\nWork on the wall will start in spring and last for at least two full years.\nThe cost of the whole project is put at four million euros, the mayor said.",
			[]string{"Headline", "The council voted on Monday to rebuild the old harbour wall by the ferry pier.", "Work on the wall will start in spring and last for at least two full years.", "The cost of the whole project is put at four million euros, the mayor said."},
		},
		{"too narrow to be wrapping", "The council met\non Monday.\n\nIt voted\nto build.", []string{"The council met", "on Monday.", "It voted", "to build."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, textLines([]byte(tt.in)))
		})
	}
}

const (
	long120   = "This paragraph is deliberately longer than any hard-wrapped line could be, so the text it sits in is not treated as wrapped."
	wrapPara1 = "The city council voted on Tuesday to extend the tram line to the northern suburbs, ending a debate that has run for almost a decade in the town hall."
	wrapPara2 = "Construction is due to start next spring, and the council expects the first trams to run in 2028 if the budget holds."
)

// TestExtractPerLineText checks end to end that a one-paragraph-per-line
// text under a headline keeps its paragraphs apart, so a line rule can still
// drop the "Advertisement" between them.
func TestExtractPerLineText(t *testing.T) {
	body := "Harbour wall to be rebuilt\n\nThe council voted on Monday to rebuild the harbour wall.\nAdvertisement\nWork will start in spring and last two years.\nThe cost is put at 4 million euros.\n"
	d, err := newExtractor(t, WithMinChars(0)).Extract([]byte(body), "text/plain", "")
	require.NoError(t, err)
	require.Equal(t, "Harbour wall to be rebuilt", d.Title)
	require.Equal(t, "Harbour wall to be rebuilt\nThe council voted on Monday to rebuild the harbour wall.\nWork will start in spring and last two years.\nThe cost is put at 4 million euros.", d.Text)
	require.Equal(t, []string{"advertisement"}, d.Rules)
}

// wrapText breaks s greedily into lines of at most width bytes, as a mail
// client or fmt(1) would.
func wrapText(s string, width int) string {
	var b strings.Builder
	n := 0
	for _, w := range strings.Fields(s) {
		switch {
		case n == 0:
		case n+1+len(w) > width:
			b.WriteByte('\n')
			n = 0
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}

// pathologicalTexts are plain-text bodies of about 1 MB built to make a
// line joiner that re-copies the paragraph for each line take minutes.
func pathologicalTexts() []pathologicalText {
	const size = 1 << 20
	var short strings.Builder
	short.WriteString("Title\n\n")
	for short.Len() < size {
		short.WriteString("a\n")
	}
	sentence := "The quick brown fox jumps over the lazy dog by the river bank. "
	long := strings.Repeat(sentence, size/len(sentence))
	return []pathologicalText{
		{"short lines", short.String(), 1 + (short.Len()-len("Title\n\n"))/2},
		{"wrapped at 40", "Title\n\n" + wrapText(long, 40), 2},
		{"wrapped at 72", "Title\n\n" + wrapText(long, 72), 2},
	}
}

type pathologicalText struct {
	name, body string
	lines      int // in the extracted text
}

// TestExtractLongPlainText checks that huge one-paragraph texts extract in
// linear time. It asserts no timing, only that extraction finishes within a
// guard far above any reasonable run (it took minutes when joining was
// quadratic).
func TestExtractLongPlainText(t *testing.T) {
	e := newExtractor(t)
	for _, tt := range pathologicalTexts() {
		t.Run(tt.name, func(t *testing.T) {
			type result struct {
				d   *Document
				err error
			}
			done := make(chan result, 1)
			go func() {
				d, err := e.Extract([]byte(tt.body), "text/plain", "")
				done <- result{d, err}
			}()
			select {
			case r := <-done:
				require.NoError(t, r.err)
				require.Equal(t, "Title", r.d.Title)
				require.Equal(t, len(strings.Fields(tt.body)), len(strings.Fields(r.d.Text)), "every word survives")
				require.Equal(t, tt.lines, strings.Count(r.d.Text, "\n")+1)
			case <-time.After(20 * time.Second):
				t.Fatal("extraction of a 1 MB text did not finish in 20s")
			}
		})
	}
}

func BenchmarkTextLines(b *testing.B) {
	for _, tt := range pathologicalTexts() {
		b.Run(tt.name, func(b *testing.B) {
			in := []byte(tt.body)
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				textLines(in)
			}
		})
	}
}

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
