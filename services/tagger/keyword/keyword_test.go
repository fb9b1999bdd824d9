package keyword

import (
	"strings"
	"testing"
	"unicode"

	"github.com/newsflow/newsflow/services/tagger/token"
	"github.com/stretchr/testify/require"
)

const enArticle = `Share this article. Subscribe to our newsletter.
Negotiators from Kenya and Tanzania resumed border talks in Arusha on Tuesday. The border talks had stalled in 2023 after a dispute over fishing rights on Lake Victoria.
Officials said the border talks would focus on fishing rights and on a joint patrol of the lake. Kenya wants a quick agreement, while Tanzania has asked for a survey of the lake first.
Fishing communities on both shores say the dispute has cut their income by 40 percent. Advertisement.
Arusha has hosted several rounds of border talks since 2019.`

func TestExtractEnglish(t *testing.T) {
	got := Extract("Kenya and Tanzania resume border talks", enArticle, "en", 8)
	require.NotEmpty(t, got)
	require.LessOrEqual(t, len(got), 8)
	terms := map[string]bool{}
	for _, k := range got {
		terms[k.Term] = true
	}
	require.True(t, terms["border talks"], "repeated phrase missing: %v", got)
	require.True(t, terms["Kenya"] || terms["Tanzania"], "proper nouns missing or lowercased: %v", got)
	require.True(t, terms["fishing rights"], "phrase missing: %v", got)
	checkInvariants(t, "en", got)
}

func TestExtractProperNounCase(t *testing.T) {
	text := "Rivers flooded the town. The Rivers family lost their farm. Rivers rose again on Monday, and the rivers burst their banks near Tamsworth. Tamsworth was cut off. Farms near Tamsworth were flooded."
	got := Extract("", text, "en", 10)
	terms := map[string]bool{}
	for _, k := range got {
		terms[k.Term] = true
	}
	require.True(t, terms["Tamsworth"], "%v", got)
	// "Rivers" is capitalised mid-sentence once but lowercase once more, so
	// it is a common noun here.
	require.False(t, terms["Rivers"], "%v", got)
	require.True(t, terms["flooded"] || terms["rivers"], "%v", got)
	checkInvariants(t, "en", got)
}

func TestExtractLanguages(t *testing.T) {
	tests := []struct {
		lang, title, text, want string
	}{
		{"de", "Streik bei der Bahn", "Die Gewerkschaft hat zu einem Streik bei der Bahn aufgerufen. Der Streik soll am Montag beginnen. Die Bahn nennt den Streik unverhältnismäßig und will mit der Gewerkschaft verhandeln.", "streik"},
		{"fr", "La grève des cheminots continue", "La grève des cheminots entre dans sa deuxième semaine. Les syndicats des cheminots réclament une hausse des salaires. Le gouvernement refuse de négocier tant que la grève continue.", "grève"},
		{"es", "Sequía en Andalucía", "La sequía obliga a restringir el agua en Andalucía. Los embalses de Andalucía están al veinte por ciento. Los agricultores temen que la sequía dure todo el verano.", "sequía"},
		{"ru", "Наводнение в Якутии", "Наводнение в Якутии затопило несколько сёл. Спасатели эвакуировали жителей. Уровень воды в реке продолжает расти, наводнение может усилиться.", "наводнение"},
		{"uk", "Повінь на Закарпатті", "Повінь на Закарпатті підтопила кілька сіл. Рятувальники евакуювали мешканців. Рівень води в річці продовжує зростати, і повінь може посилитися.", "повінь"},
		{"pl", "Powódź na Dolnym Śląsku", "Powódź zalała kilka wsi na Dolnym Śląsku. Ratownicy ewakuowali mieszkańców. Poziom wody w rzece nadal rośnie, a powódź może się nasilić.", "powódź"},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			got := Extract(tt.title, tt.text, tt.lang, 5)
			require.NotEmpty(t, got)
			found := false
			for _, k := range got {
				found = found || strings.EqualFold(k.Term, tt.want)
			}
			require.True(t, found, "want %q in %v", tt.want, got)
			checkInvariants(t, tt.lang, got)
		})
	}
}

func TestExtractNothing(t *testing.T) {
	tests := []struct {
		name, title, text string
		n                 int
	}{
		{"empty", "", "", 10},
		{"stopwords and numbers", "The", "and 2024, of the 17 to 3.5 %", 10},
		{"boilerplate", "Share", "Subscribe to our newsletter. Advertisement. Share.", 10},
		{"n zero", "Kenya", "Kenya border talks", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Empty(t, Extract(tt.title, tt.text, "en", tt.n))
		})
	}
}

// checkInvariants asserts what must hold for any output: scores in (0,1]
// falling from 1, and no stopword, bare number or boilerplate word.
func checkInvariants(t *testing.T, lang string, got []Keyword) {
	t.Helper()
	for i, k := range got {
		require.Greater(t, k.Score, 0.0, "%v", k)
		require.LessOrEqual(t, k.Score, 1.0, "%v", k)
		if i == 0 {
			require.Equal(t, 1.0, k.Score)
		} else {
			require.LessOrEqual(t, k.Score, got[i-1].Score)
		}
		for _, w := range strings.Fields(k.Term) {
			lower := strings.ToLower(w)
			require.False(t, token.IsStopword(lang, lower), "stopword %q in %v", w, got)
			require.False(t, token.IsNumeric(lower), "number %q in %v", w, got)
			require.False(t, boilerplate[lower], "boilerplate %q in %v", w, got)
		}
		require.True(t, startsWithLetter(k.Term), "%q", k.Term)
	}
}

func startsWithLetter(s string) bool {
	for _, r := range s {
		return unicode.IsLetter(r) || unicode.IsDigit(r)
	}
	return false
}

func FuzzExtract(f *testing.F) {
	f.Add("Kenya talks", enArticle)
	f.Add("", "a b c 1 2 3")
	f.Add("x", "\xff\xfe O'Neil's — «»")
	f.Fuzz(func(t *testing.T, title, text string) {
		got := Extract(title, text, "en", 10)
		require.LessOrEqual(t, len(got), 10)
		for _, k := range got {
			require.NotEmpty(t, k.Term)
			require.Greater(t, k.Score, 0.0)
			require.LessOrEqual(t, k.Score, 1.0)
		}
	})
}

func BenchmarkExtract(b *testing.B) {
	text := strings.Repeat(enArticle+"\n", 5)
	b.ReportAllocs()
	for b.Loop() {
		Extract("Kenya and Tanzania resume border talks", text, "en", 10)
	}
}
