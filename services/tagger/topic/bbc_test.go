package topic

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/newsflow/newsflow/services/tagger/internal/sharedtest"
	"github.com/stretchr/testify/require"
)

// bbcToIPTC is the mapping given in shared/topic-bench/README.md.
var bbcToIPTC = map[string]string{
	"business":      "medtop:04000000",
	"entertainment": "medtop:01000000",
	"politics":      "medtop:11000000",
	"sport":         "medtop:15000000",
	"tech":          "medtop:13000000",
}

// bbcFloor is the accuracy target for the default model; below it
// the model has regressed. The bench is for evaluation only and never
// feeds the model.
const bbcFloor = 0.92

// TestBBCAccuracy reports the default model's top-topic accuracy on the BBC
// development set, exact duplicates removed.
func TestBBCAccuracy(t *testing.T) {
	dir := filepath.Join(sharedtest.Dir(t, "topic-bench"), "bbc")
	m := Default()
	seen := map[[32]byte]bool{}
	total, correct := 0, 0
	confusion := map[string]map[string]int{}
	for class, want := range bbcToIPTC {
		files, err := filepath.Glob(filepath.Join(dir, class, "*.txt"))
		require.NoError(t, err)
		require.NotEmpty(t, files, "no documents for %s", class)
		confusion[class] = map[string]int{}
		for _, f := range files {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			sum := sha256.Sum256([]byte(strings.Join(strings.Fields(string(b)), " ")))
			if seen[sum] {
				continue
			}
			seen[sum] = true
			title, body, _ := strings.Cut(string(b), "\n")
			got := "none"
			if scores := m.Classify(title, body, "en"); len(scores) > 0 {
				got = scores[0].Code
			}
			confusion[class][got]++
			total++
			if got == want {
				correct++
			}
		}
	}
	acc := float64(correct) / float64(total)
	t.Logf("BBC top-topic accuracy: %.4f (%d/%d, exact duplicates removed)", acc, correct, total)
	classes := make([]string, 0, len(confusion))
	for c := range confusion {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	for _, c := range classes {
		t.Logf("  %-13s → %v", c, confusion[c])
	}
	require.GreaterOrEqual(t, acc, bbcFloor)
}
