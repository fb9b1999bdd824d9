package token

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		in   string
		want []Word
	}{
		{"", nil},
		{"Hello, world", []Word{{"Hello", true, true}, {"world", true, false}}},
		{"peace-talks in Kyiv", []Word{{"peace", true, true}, {"talks", false, false}, {"in", false, false}, {"Kyiv", false, false}}},
		{"Russia's war", []Word{{"Russia", true, true}, {"war", false, false}}},
		{"Russia’s war", []Word{{"Russia", true, true}, {"war", false, false}}},
		{"l'entreprise", []Word{{"l", true, true}, {"entreprise", false, false}}},
		{"Зеленський заявив: «мир»", []Word{{"Зеленський", true, true}, {"заявив", false, false}, {"мир", true, false}}},
		{"3G phones (2005)", []Word{{"3G", true, true}, {"phones", false, false}, {"2005", true, false}}},
		{"He left. Then\nNews", []Word{{"He", true, true}, {"left", false, false}, {"Then", true, true}, {"News", true, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			require.Equal(t, tt.want, Split(tt.in))
		})
	}
}

func TestTerms(t *testing.T) {
	tests := []struct {
		lang, in string
		want     []string
	}{
		{"en", "The games were played in 2004.", []string{"gam", "", "pla"}},
		{"fr", "L'économie française", []string{"economi", "francais"}},
		{"en", "Peace talks, Ukraine", []string{"peac", "talk", "", "ukrain"}},
		{"de", "Die Wahlen und die Regierung", []string{"wahl", "", "regi"}},
		{"und", "le chat et the dog", []string{"chat", "", "dog"}},
		{"en", "123 and 456", nil},
	}
	for _, tt := range tests {
		t.Run(tt.lang+"/"+tt.in, func(t *testing.T) {
			require.Equal(t, tt.want, Terms(tt.lang, tt.in))
		})
	}
}

func TestStemMergesInflections(t *testing.T) {
	tests := []struct {
		lang  string
		forms []string
	}{
		{"en", []string{"game", "games", "gaming"}},
		{"en", []string{"company", "companies"}},
		{"en", []string{"election", "elections"}},
		{"de", []string{"wahl", "wahlen"}},
		{"fr", []string{"élection", "élections"}},
		{"es", []string{"elección", "elecciones"}},
		{"pt", []string{"eleição", "eleições"}},
		{"it", []string{"elezione", "elezioni"}},
		{"nl", []string{"verkiezing", "verkiezingen"}},
		{"pl", []string{"wybory", "wyborach"}},
		{"ru", []string{"выборы", "выборах"}},
		{"uk", []string{"вибори", "виборах"}},
	}
	for _, tt := range tests {
		t.Run(tt.lang+"/"+tt.forms[0], func(t *testing.T) {
			first := Stem(tt.lang, tt.forms[0])
			for _, f := range tt.forms[1:] {
				require.Equal(t, first, Stem(tt.lang, f), "%s vs %s", tt.forms[0], f)
			}
			require.NotEmpty(t, first)
		})
	}
}

func TestIsStopword(t *testing.T) {
	tests := []struct {
		lang, word string
		want       bool
	}{
		{"en", "the", true}, {"en", "election", false}, {"de", "und", true}, {"fr", "les", true},
		{"es", "los", true}, {"it", "della", true}, {"pt", "não", true}, {"nl", "het", true},
		{"pl", "się", true}, {"ru", "что", true}, {"uk", "що", true},
		{"und", "der", true}, {"xx", "les", true}, {"und", "ukraine", false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, IsStopword(tt.lang, tt.word), "%s/%s", tt.lang, tt.word)
	}
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{"", "a'b", "x's", "'s", "-'-", "\xff", "ü-ß"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, w := range Split(s) {
			require.NotEmpty(t, w.Text)
		}
		for _, term := range Terms("en", s) {
			_ = term // must not panic
		}
	})
}
