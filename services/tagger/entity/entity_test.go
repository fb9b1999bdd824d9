package entity

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/newsflow/newsflow/services/tagger/internal/sharedtest"
	"github.com/stretchr/testify/require"
)

func byName(ents []Entity) map[string]Entity {
	m := map[string]Entity{}
	for _, e := range ents {
		m[e.Name] = e
	}
	return m
}

func TestGazetteerParses(t *testing.T) {
	g, err := parseGazetteer(gazetteerFile)
	require.NoError(t, err)
	require.Greater(t, g.maxWords, 3)
	_, err = parseGazetteer("planet\tMars\n")
	require.ErrorContains(t, err, "unknown kind")
	_, err = parseGazetteer("country\tA\tX\ncountry\tB\tX\n")
	require.ErrorContains(t, err, "already names")
}

func TestExtract(t *testing.T) {
	text := "German Chancellor Friedrich Merz met Ukrainian President Volodymyr Zelenskiy in Berlin on Monday.\n" +
		"Zelensky said the U.S. and the United States Congress would help. Merz agreed.\n" +
		"Slovenian MEP Klemen Grošelj said NATO allies and the US must act. Grošelj spoke in the European Parliament.\n" +
		"Protesters gathered in Independence Square, and the Finance Ministry said us all."
	ents := byName(Extract("Merz and Zelenskyy meet", text))
	for name, want := range map[string]struct {
		typ, sub string
		n        int
	}{
		"Friedrich Merz":      {Person, "", 3},
		"Volodymyr Zelenskyy": {Person, "", 3},
		"United States":       {Place, "country", 3},
		"Klemen Grošelj":      {Person, "", 2},
		"NATO":                {Organisation, "international", 1},
		"European Parliament": {Organisation, "international", 1},
		"Berlin":              {Place, "city", 1},
		"Independence Square": {Place, "", 1},
		"Finance Ministry":    {Organisation, "", 1},
	} {
		e, ok := ents[name]
		require.True(t, ok, "missing %s in %v", name, ents)
		require.Equal(t, want.typ, e.Type, name)
		require.Equal(t, want.sub, e.Subtype, name)
		require.Equal(t, want.n, e.Mentions, name)
	}
	for _, bad := range []string{"German Chancellor Friedrich Merz", "Chancellor", "Monday", "Klemen"} {
		require.NotContains(t, ents, bad)
	}
	require.Equal(t, []string{"Volodymyr Zelenskiy", "Zelensky", "Zelenskyy"}, sortedCopy(ents["Volodymyr Zelenskyy"].Aliases))
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestNameKey(t *testing.T) {
	require.Equal(t, NameKey("Volodymyr Zelenskyy"), NameKey("Volodymyr Zelenskiy"))
	require.Equal(t, NameKey("Pedro Sánchez"), NameKey("pedro sanchez"))
	require.NotEqual(t, NameKey("Putin"), NameKey("Merz"))
}

func TestHeadlineCaseIsNoPerson(t *testing.T) {
	text := "Security Guarantees Take Center Stage\nThe security guarantees take centre stage in the talks, and leaders stage a meeting."
	for _, e := range Extract("", text) {
		require.NotEqual(t, Person, e.Type, "%+v", e)
	}
}

// TestPageFurnitureIsNoPerson: labels of a page's parts, written as
// capitalised runs, are not people, while the names beside them still are.
func TestPageFurnitureIsNoPerson(t *testing.T) {
	text := "Anna Berg spoke to reporters in Oslo on Monday.\n" +
		"This article is an enr Key Story. The content is based on news by agencies.\n" +
		"Top Stories\nLive Updates\nRelated Articles\nMost Read\nEditor Picks\nBreaking News Alerts\n" +
		"Berg said the plan would go ahead."
	got := byName(Extract("", text))
	require.Equal(t, Person, got["Anna Berg"].Type)
	for name, e := range got {
		if name != "Anna Berg" {
			require.NotEqual(t, Person, e.Type, "%q taken for a person", name)
		}
	}
}

// TestSeeds checks that every head of state or government, international
// organisation, country and region the five seed articles name is found.
func TestSeeds(t *testing.T) {
	dir := sharedtest.Dir(t, "seeds")
	want := map[string][]string{
		"000": {"Vladimir Putin", "Volodymyr Zelenskyy", "Donald Trump", "Emmanuel Macron", "Keir Starmer", "Friedrich Merz",
			"Ursula von der Leyen", "Giorgia Meloni", "Alexander Stubb", "Mark Rutte", "António Costa", "Robert Fico",
			"Pedro Sánchez", "Rosen Zhelyazkov", "NATO", "European Union", "European Commission", "European Council",
			"Russia", "Ukraine", "United States", "Spain", "Albania", "Slovakia", "Hungary", "Alaska", "Europe", "Donbas"},
		"001": {"Vladimir Putin", "Volodymyr Zelenskyy", "Donald Trump", "Friedrich Merz", "Emmanuel Macron", "Alexander Stubb",
			"Mark Rutte", "NATO", "European Commission", "Russia", "Ukraine", "United States", "United Kingdom", "France",
			"Germany", "Italy", "Finland", "Alaska", "Crimea", "Donbas", "Florida"},
		"002": {"Vladimir Putin", "Volodymyr Zelenskyy", "Donald Trump", "Mark Rutte", "António Costa", "Robert Fico",
			"NATO", "European Union", "Russia", "Ukraine", "United States", "Hungary", "Alaska", "Europe"},
		"003": {"Vladimir Putin", "Volodymyr Zelenskyy", "Donald Trump", "Friedrich Merz", "Emmanuel Macron", "NATO",
			"Russia", "Ukraine", "United States", "Turkey", "Alaska"},
		"004": {"Vladimir Putin", "Volodymyr Zelenskyy", "Donald Trump", "Emmanuel Macron", "NATO", "European Union",
			"Ukraine", "Russia", "United States", "Germany", "United Kingdom", "France", "Italy", "Finland"},
	}
	for prefix, names := range want {
		m, err := filepath.Glob(filepath.Join(dir, prefix+"_*.txt"))
		require.NoError(t, err)
		require.Len(t, m, 1)
		b, err := os.ReadFile(m[0])
		require.NoError(t, err)
		ents := byName(Extract("", string(b)))
		for _, n := range names {
			require.Contains(t, ents, n, "seed %s", prefix)
		}
	}
}

func BenchmarkExtract(b *testing.B) {
	text := "German Chancellor Friedrich Merz met Ukrainian President Volodymyr Zelenskiy in Berlin on Monday, and the talks went on. "
	for range 5 {
		text += text
	}
	for b.Loop() {
		Extract("Merz meets Zelenskyy", text)
	}
}
