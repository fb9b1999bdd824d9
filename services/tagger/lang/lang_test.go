package lang

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type labelled struct{ code, text string }

// readSentences loads testdata/sentences.tsv: code TAB sentence, # comments.
func readSentences(t testing.TB) []labelled {
	t.Helper()
	f, err := os.Open("testdata/sentences.tsv")
	require.NoError(t, err)
	defer f.Close()
	var out []labelled
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		code, text, ok := strings.Cut(line, "\t")
		require.True(t, ok, "line without tab: %q", line)
		out = append(out, labelled{code, text})
	}
	require.NoError(t, sc.Err())
	return out
}

func TestDetectSentences(t *testing.T) {
	sentences := readSentences(t)
	perLang := map[string]int{}
	for _, s := range sentences {
		perLang[s.code]++
		t.Run(s.code+"/"+prefix(s.text), func(t *testing.T) {
			got := Detect(s.text)
			require.Equal(t, s.code, got.Code)
			if s.code == Undetermined {
				require.Zero(t, got.Confidence)
				return
			}
			require.Greater(t, got.Confidence, 0.0)
			require.LessOrEqual(t, got.Confidence, 1.0)
		})
	}
	for _, code := range Supported() {
		require.GreaterOrEqual(t, perLang[code], 3, "fixture needs sentences for %s", code)
	}
}

func TestDetectHardPairs(t *testing.T) {
	// Whole articles are long; these paragraphs are deliberately close pairs.
	tests := []struct {
		name, text, want string
	}{
		{"ru", "Правительство заявило, что переговоры продолжатся на следующей неделе, несмотря на разногласия.", "ru"},
		{"uk", "Уряд заявив, що переговори продовжаться наступного тижня, попри розбіжності.", "uk"},
		{"es", "El gobierno afirmó que las negociaciones continuarán la próxima semana, a pesar de los desacuerdos.", "es"},
		{"pt", "O governo afirmou que as negociações vão continuar na próxima semana, apesar das divergências.", "pt"},
		{"nl", "De regering zei dat de onderhandelingen volgende week worden voortgezet, ondanks de meningsverschillen.", "nl"},
		{"de", "Die Regierung erklärte, die Verhandlungen würden trotz der Meinungsverschiedenheiten nächste Woche fortgesetzt.", "de"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, Detect(tt.text).Code)
		})
	}
}

func TestDetectUndetermined(t *testing.T) {
	for _, text := range []string{"", " \n\t", "42", "a1", "—!?", "12:30 | 2024-05-01"} {
		require.Equal(t, Result{Code: Undetermined}, Detect(text), "%q", text)
	}
}

func FuzzDetect(f *testing.F) {
	for _, s := range []string{"", "hello world", "Привіт, світе", "\xff\xfe", "ab"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got := Detect(text)
		require.NotEmpty(t, got.Code)
		require.GreaterOrEqual(t, got.Confidence, 0.0)
		require.LessOrEqual(t, got.Confidence, 1.0)
	})
}

func BenchmarkDetect(b *testing.B) {
	sentences := readSentences(b)
	text := ""
	for _, s := range sentences {
		if s.code == "en" {
			text += s.text + " "
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		Detect(text)
	}
}

func prefix(s string) string {
	r := []rune(s)
	if len(r) > 20 {
		r = r[:20]
	}
	return string(r)
}
