package topic

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/newsflow/newsflow/services/tagger/internal/sharedtest"
	"github.com/newsflow/newsflow/services/tagger/token"
	"github.com/newsflow/newsflow/services/tagger/topic/internal/modelgen"
	"github.com/stretchr/testify/require"
)

func TestCommittedModelIsGenerated(t *testing.T) {
	iptc, err := os.Open(filepath.Join(sharedtest.Dir(t, "iptc"), "cptall-x-all.json"))
	require.NoError(t, err)
	defer iptc.Close()
	vocab, err := os.Open("vocab.tsv")
	require.NoError(t, err)
	defer vocab.Close()
	want, err := modelgen.Build(iptc, vocab)
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, []byte(defaultModel)),
		"model.tsv is stale: run go generate ./topic in services/tagger and commit it")
	_, err = iptc.Seek(0, 0)
	require.NoError(t, err)
	narrower, err := modelgen.Narrower(iptc)
	require.NoError(t, err)
	require.True(t, bytes.Equal(narrower, []byte(narrowerFile)),
		"narrower.tsv is stale: run go generate ./topic in services/tagger and commit it")
}

func TestDefaultModel(t *testing.T) {
	m := Default()
	topics := m.Topics()
	require.Len(t, topics, 17)
	for i, tp := range topics {
		require.Equal(t, 1, tp.Level)
		require.Equal(t, "medtop:"+twoDigits(i+1)+"000000", tp.Code)
		require.NotEmpty(t, tp.Label)
	}
	require.Less(t, len(defaultModel), 2<<20, "keep the committed model small")
}

func twoDigits(n int) string {
	return string([]byte{byte('0' + n/10), byte('0' + n%10)})
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name, lang, title, text, want string
	}{
		{"en politics", "en", "Parliament rejects budget", "The prime minister lost a vote in parliament after opposition parties and rebels in her own party rejected the budget. An early election is now likely, ministers said.", "medtop:11000000"},
		{"en sport", "en", "Late goal sends United into the final", "A header from the striker in the last minute of the match sent the club into the cup final. The coach praised the players and the fans in the stadium.", "medtop:15000000"},
		{"en economy", "en", "Bank raises interest rates", "The central bank raised interest rates for the third time this year to fight inflation. Shares fell on the stock market and investors expect slower growth.", "medtop:04000000"},
		{"en tech", "en", "New phone runs on open software", "The handset maker released a smartphone with its own operating system. Users can download apps over broadband or wireless networks, and the software is open to developers.", "medtop:13000000"},
		{"en weather", "en", "Snow and ice warning", "Forecasters issued a weather warning as heavy snow, freezing temperatures and icy winds moved in overnight.", "medtop:17000000"},
		{"en health", "en", "Hospital waiting lists grow", "Patients wait longer for surgery as hospitals run short of doctors and nurses; the vaccine programme for flu has also been delayed.", "medtop:07000000"},
		{"de sport", "de", "Bayern gewinnt das Finale", "Die Mannschaft gewann das Spiel im Stadion mit zwei Toren. Der Trainer lobte die Spieler nach dem Sieg in der Bundesliga.", "medtop:15000000"},
		{"fr economy", "fr", "La Bourse recule", "Les actions des banques ont chuté à la Bourse de Paris après l'annonce d'une hausse de l'inflation et des taux d'intérêt.", "medtop:04000000"},
		{"es politics", "es", "El Gobierno convoca elecciones", "El presidente del Gobierno anunció elecciones anticipadas tras perder una votación en el Parlamento frente a la oposición.", "medtop:11000000"},
		{"it disaster", "it", "Terremoto nel sud", "Un forte terremoto ha colpito la regione: i soccorritori cercano sopravvissuti tra le macerie, decine i feriti e le vittime.", "medtop:03000000"},
		{"pt sport", "pt", "Seleção vence na final", "A seleção venceu o jogo com dois golos e o treinador elogiou os jogadores e os adeptos no estádio.", "medtop:15000000"},
		{"nl politics", "nl", "Kabinet valt", "Het kabinet is gevallen na een conflict tussen de coalitiepartijen; de premier kondigt nieuwe verkiezingen aan in het parlement.", "medtop:11000000"},
		{"pl weather", "pl", "Upał w całym kraju", "Synoptycy ostrzegają przed upałem: temperatura przekroczy 35 stopni, a po południu możliwe są burze i silny wiatr.", "medtop:17000000"},
		{"ru war", "ru", "Обстрел Харькова", "Армия нанесла ракетный удар по городу, обстрелы продолжались всю ночь, на фронте идут тяжелые бои.", "medtop:16000000"},
		{"uk health", "uk", "Епідемія грипу", "Лікарі попереджають про епідемію грипу: у лікарнях бракує місць, а МОЗ закликає до вакцинації.", "medtop:07000000"},
	}
	m := Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := m.Classify(tt.title, tt.text, tt.lang)
			require.NotEmpty(t, got)
			require.Equal(t, tt.want, got[0].Code, "%+v", got)
			checkScores(t, got)
		})
	}
}

// checkScores checks a classification: level-1 topics best first with
// shares summing to at most 1, each followed by at most one second-level
// topic of its own scoring no more than it.
func checkScores(t *testing.T, got []Score) {
	t.Helper()
	sum := 0.0
	var prev *Score
	for i, s := range got {
		require.Greater(t, s.Score, 0.0)
		require.LessOrEqual(t, s.Score, 1.0)
		require.NotEmpty(t, s.Label)
		switch s.Level {
		case 1:
			if prev != nil {
				require.LessOrEqual(t, s.Score, prev.Score)
			}
			prev = &got[i]
			sum += s.Score
		case 2:
			require.NotNil(t, prev)
			require.Equal(t, 1, got[i-1].Level, "one narrower topic per parent, right after it")
			require.LessOrEqual(t, s.Score, prev.Score)
		default:
			t.Fatalf("level %d", s.Level)
		}
	}
	require.LessOrEqual(t, sum, 1.0+1e-9)
}

func TestNarrower(t *testing.T) {
	for _, tt := range []struct{ title, text, parent, child string }{
		{"Election called", "The general election will be held in May; the election campaign starts and voters will elect a new parliament in the election.", "medtop:11000000", "medtop:20000574"},
		{"Unemployment rises", "Unemployment rose again and the unemployment rate reached six percent; unemployment benefits and jobs were debated.", "medtop:09000000", "medtop:20000533"},
	} {
		got := Default().Classify(tt.title, tt.text, "en")
		checkScores(t, got)
		require.GreaterOrEqual(t, len(got), 2, "%+v", got)
		require.Equal(t, tt.parent, got[0].Code, "%+v", got)
		require.Equal(t, Score{Code: tt.child, Label: got[1].Label, Score: got[1].Score, Level: 2}, got[1])
		require.Equal(t, tt.parent, narrowerParent(t, tt.child))
	}

	// One weak mention is no evidence for a narrower topic.
	got := Default().Classify("", "The minister said the budget would cut taxes and the parliament will vote on the government's plan.", "en")
	for _, s := range got {
		require.Equal(t, 1, s.Level, "%+v", got)
	}
	_, err := parseNarrower("medtop:1\tx\n")
	require.Error(t, err)
}

func narrowerParent(t *testing.T, code string) string {
	n, err := loadNarrower()
	require.NoError(t, err)
	for _, c := range n.topics {
		if c.code == code {
			return c.parent
		}
	}
	t.Fatalf("no narrower topic %s", code)
	return ""
}

func TestClassifyNoEvidence(t *testing.T) {
	for _, text := range []string{"", "   ", "1 2 3 4", "the and of a", "qwxz vbnm plok", "Lorem ipsum dolor sit amet"} {
		require.Empty(t, Default().Classify("", text, "en"), "%q", text)
	}
}

func TestEveryTopicReachable(t *testing.T) {
	// Each top-level topic must be able to come first: its own English label
	// as a text classifies to it.
	m := Default()
	for _, tp := range m.Topics() {
		got := m.Classify(tp.Label, tp.Label, "en")
		require.NotEmpty(t, got, tp.Code)
		require.Equal(t, tp.Code, got[0].Code, "%s %q: %+v", tp.Code, tp.Label, got)
	}
}

func TestLoad(t *testing.T) {
	good := "# comment\ntopic\tmedtop:01000000\t1\tarts\ntopic\tmedtop:15000000\t1\tsport\nterm\tfilm\t0.9\t0:0.9\nterm\tgoal\t0.8\t1:0.8\nterm\tfinal\t0.5\t0:0.1 1:0.4\n"
	m, err := Load(strings.NewReader(good))
	require.NoError(t, err)
	require.Len(t, m.Topics(), 2)
	got := m.Classify("Goal in the final", "goal goal final", "en")
	require.NotEmpty(t, got)
	require.Equal(t, "medtop:15000000", got[0].Code)

	bad := map[string]string{
		"empty":            "",
		"no topics":        "term\tfilm\t0.9\t0:0.9\n",
		"unknown record":   "topic\tmedtop:01000000\t1\tarts\nword\tx\n",
		"bad level":        "topic\tmedtop:01000000\tone\tarts\n",
		"bad code":         "topic\t01000000\t1\tarts\n",
		"index range":      "topic\tmedtop:01000000\t1\tarts\nterm\tfilm\t0.9\t1:0.9\n",
		"weight range":     "topic\tmedtop:01000000\t1\tarts\nterm\tfilm\t0.9\t0:1.5\n",
		"strength nan":     "topic\tmedtop:01000000\t1\tarts\nterm\tfilm\tNaN\t0:0.5\n",
		"no association":   "topic\tmedtop:01000000\t1\tarts\nterm\tfilm\t0.9\t\n",
		"duplicate term":   "topic\tmedtop:01000000\t1\tarts\nterm\tfilm\t0.9\t0:0.9\nterm\tfilm\t0.9\t0:0.9\n",
		"topic after term": "topic\tmedtop:01000000\t1\tarts\nterm\tfilm\t0.9\t0:0.9\ntopic\tmedtop:02000000\t1\tlaw\n",
	}
	for name, in := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := Load(strings.NewReader(in))
			require.Error(t, err)
		})
	}
}

func FuzzLoad(f *testing.F) {
	f.Add("topic\tmedtop:01000000\t1\tarts\nterm\tfilm\t0.9\t0:0.9\n")
	f.Add("term\tx\t1\t0:1\n")
	f.Add("topic\tmedtop:1\t1\t\nterm\t\t0\t0:0\n")
	f.Fuzz(func(t *testing.T, in string) {
		m, err := Load(strings.NewReader(in))
		if err != nil {
			return
		}
		checkScores(t, m.Classify("film", in, "en"))
	})
}

func FuzzClassify(f *testing.F) {
	f.Add("Election", "The prime minister called an election.")
	f.Add("", "\xff")
	f.Fuzz(func(t *testing.T, title, text string) {
		checkScores(t, Default().Classify(title, text, "und"))
	})
}

func BenchmarkClassify(b *testing.B) {
	text := strings.Repeat("The central bank raised interest rates to fight inflation while shares fell on the stock market. ", 30)
	m := Default()
	b.ReportAllocs()
	for b.Loop() {
		m.Classify("Bank raises interest rates", text, "en")
	}
}

func TestGenericWordsAreNoEvidence(t *testing.T) {
	m := Default()
	for _, w := range []string{"team", "record", "work", "game"} {
		stem := token.Terms("en", w)[0]
		require.False(t, m.hasTerm(stem), "%q (%q) is generic", w, stem)
	}
	pair := strings.Join(token.Terms("en", "world record"), " ")
	require.True(t, m.hasTerm(pair), "a pair with a generic word stays")
	require.Nil(t, m.Classify("Team record", "The team set a record. The team will work on the game.", "en"))
}

func TestSectionPrior(t *testing.T) {
	// Evidence split between a section (politics) and a facet of it
	// (education): without the prior the facet wins by a little, with it
	// the section.
	text := "The education secretary told MPs in parliament that the government and ministers will fund schools and pupils."
	plain := *Default()
	plain.narrower = false // the prior belongs to the built-in model with its level-2 topics
	without := plain.Classify("", text, "en")
	require.NotEmpty(t, without)
	require.Equal(t, "medtop:05000000", without[0].Code, "%v", without)
	with := Default().Classify("", text, "en")
	require.Equal(t, "medtop:11000000", with[0].Code, "%v", with)
}
