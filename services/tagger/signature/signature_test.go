package signature

import (
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/newsflow/newsflow/services/tagger/internal/sharedtest"
	"github.com/stretchr/testify/require"
)

// exactContainment is the share of a's shingles that b holds, counted.
func exactContainment(a, b string) float64 {
	sa, sb := Shingles(a), Shingles(b)
	n := 0
	for h := range sa {
		if _, ok := sb[h]; ok {
			n++
		}
	}
	return float64(n) / float64(len(sa))
}

const base = `The council approved the tram extension on Tuesday after a long debate about costs.
Work on the eastern line will begin in the spring and take two years, the transport committee said.
Opponents argued that buses would serve the district better at a fraction of the price.`

func TestIdenticalAndEdited(t *testing.T) {
	a := Compute(base)
	require.Equal(t, a, Compute(base), "signatures are deterministic")
	require.Len(t, a.MinHash, Hashes)
	require.Equal(t, 1.0, Jaccard(a.MinHash, a.MinHash))

	// An agency copy with a changed sign-off and one word edited.
	edited := strings.Replace(base, "Tuesday", "Tuesday evening", 1) + "\nReporting by the wire desk."
	b := Compute(edited)
	require.LessOrEqual(t, Distance(a.SimHash, b.SimHash), 12)
	require.Greater(t, Jaccard(a.MinHash, b.MinHash), 0.6)
	require.Greater(t, Containment(a, b), 0.8)

	other := Compute(`Rovers won the cup final with two late goals from their new striker, who joined from a rival club in January.`)
	require.Less(t, Jaccard(a.MinHash, other.MinHash), 0.1)
	require.Less(t, Containment(a, other), 0.1)
	require.Greater(t, Distance(a.SimHash, other.SimHash), 12)
}

func TestEmpty(t *testing.T) {
	s := Compute("  \n ")
	require.Zero(t, s.Size)
	require.Nil(t, s.MinHash)
	require.Zero(t, Containment(s, Compute(base)))
	require.Zero(t, Jaccard(nil, nil))
}

// TestSeedContainment checks the estimate against the exact share on the
// seeds: 002 reuses about a third of 000's text.
func TestSeedContainment(t *testing.T) {
	dir := sharedtest.Dir(t, "seeds")
	read := func(prefix string) string {
		m, err := filepath.Glob(filepath.Join(dir, prefix+"_*.txt"))
		require.NoError(t, err)
		require.Len(t, m, 1)
		b, err := os.ReadFile(m[0])
		require.NoError(t, err)
		return string(b)
	}
	s0, s2 := read("000"), read("002")
	exact := exactContainment(s2, s0)
	est := Containment(Compute(s2), Compute(s0))
	t.Logf("002 in 000: exact %.3f, estimated %.3f; 000 in 002: exact %.3f", exact, est, exactContainment(s0, s2))
	require.Greater(t, exact, 0.2)
	require.InDelta(t, exact, est, 0.1)
}

func BenchmarkCompute(b *testing.B) {
	text := strings.Repeat(base+"\n", 8) // about 600 words
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		Compute(text)
	}
}

func TestJaccardComparesPrefixes(t *testing.T) {
	a := Compute("the quick brown fox jumps over the lazy dog near the river bank today")
	b := Compute("the quick brown fox jumps over the lazy cat near the river bank today")
	require.Equal(t, 1.0, Jaccard(a.MinHash, a.MinHash[:128]))
	require.Equal(t, Jaccard(a.MinHash[:128], b.MinHash[:128]), Jaccard(a.MinHash, b.MinHash[:128]))
	require.Less(t, Jaccard(a.MinHash, b.MinHash[:128]), 1.0)
	require.Equal(t, 0.0, Jaccard(a.MinHash, nil))
}

// TestSignatureIsStable pins the signature of one text: signatures are
// stored and compared with those of articles tagged by earlier versions,
// so a faster Compute must compute the same values (these are those of
// the version before its loops lost their bounds checks and branches).
func TestSignatureIsStable(t *testing.T) {
	s := Compute("The government said on Monday that the talks would continue next week, despite disagreements over trade and fishing rights.")
	require.Equal(t, uint64(0xfff8a6c5f0100c24), s.SimHash)
	require.Equal(t, 17, s.Size)
	require.Len(t, s.MinHash, Hashes)
	require.Equal(t, []uint32{143723976, 42466924, 268371173, 205391816}, s.MinHash[:4])
	h := fnv.New64a()
	for _, v := range s.MinHash {
		fmt.Fprint(h, v, ",")
	}
	require.Equal(t, uint64(0x7fc8dc7e348d194c), h.Sum64(), "all %d MinHash values", Hashes)
}
