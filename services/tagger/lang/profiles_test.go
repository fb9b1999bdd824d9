package lang

import (
	"bytes"
	"flag"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/abadojack/whatlanggo"
	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/services/tagger/lang/internal/profiles"
)

var update = flag.Bool("update", false, "write profiles.tsv from the whatlanggo module's source")

// TestProfilesFile: profiles.tsv holds the profiles of the whatlanggo
// version go.mod pins (go test ./lang -run TestProfilesFile -update writes
// it after an upgrade).
func TestProfilesFile(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", profiles.Module).Output()
	require.NoError(t, err, "go list -m %s", profiles.Module)
	ps, err := profiles.FromSource(strings.TrimSpace(string(out)))
	require.NoError(t, err)
	var want bytes.Buffer
	require.NoError(t, profiles.Write(&want, ps))
	if *update {
		require.NoError(t, os.WriteFile("profiles.tsv", want.Bytes(), 0o644))
	}
	require.Equal(t, want.String(), profilesTSV, "profiles.tsv is not the pinned whatlanggo's: run go test ./lang -run TestProfilesFile -update")
	langs := map[string]int{}
	for _, p := range loadProfiles() {
		for _, l := range p.langs {
			langs[l.Iso6391()]++
		}
	}
	for _, code := range Supported() {
		require.Equal(t, 1, langs[code], "%s has one profile", code)
	}
}

// TestDetectMatchesWhatlanggo: detect gives whatlanggo's language and
// confidence, with and without a whitelist, for every text of the
// sentences fixture, prefixes of them (short texts score close), and
// random letters of the profiled scripts. Only a tie at the top (no
// confidence) may name another of the tied languages.
func TestDetectMatchesWhatlanggo(t *testing.T) {
	var texts []string
	for _, s := range readSentences(t) {
		texts = append(texts, s.text)
		for n := 1; n < len(s.text); n += 5 {
			if utf8.ValidString(s.text[:n]) {
				texts = append(texts, s.text[:n])
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabets := []string{"abcdefghijklmnopqrstuvwxyzéèàüößñç ,.", "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґ ,.", "ابتثجحخدذرسشصضطظعغفقكلمنهوي ,", "אבגדהוזחטיכלמנסעפצקרשת ,", "कखगघचछजझटठडढणतथदधनपफबभमयरलवशसह ,"}
	for range 2000 {
		a := []rune(alphabets[rng.IntN(len(alphabets))])
		var b strings.Builder
		for range 1 + rng.IntN(120) {
			b.WriteRune(a[rng.IntN(len(a))])
		}
		texts = append(texts, b.String())
	}
	white := map[whatlanggo.Lang]bool{}
	for _, l := range supported {
		white[l] = true
	}
	for _, text := range texts {
		for _, w := range []map[whatlanggo.Lang]bool{nil, white} {
			got := detect(text, w)
			want := whatlanggo.DetectWithOptions(text, whatlanggo.Options{Whitelist: w})
			require.InDelta(t, want.Confidence, got.Confidence, 1e-12, "%q (whitelist %v)", text, w != nil)
			require.Equal(t, want.Script, got.Script, "%q", text)
			if got.Lang != want.Lang {
				require.Zero(t, got.Confidence, "%q (whitelist %v): %s, whatlanggo %s", text, w != nil, got.Lang, want.Lang)
			}
		}
	}
}
