// Package evaluate measures the tagger: topic accuracy of a model on a
// labelled corpus, k-fold cross-validation of the training command, the
// story grouping's false-merge rate and the grouping of a set of articles
// (the seeds). The newsflow tagger eval command prints what it returns.
package evaluate

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"

	"github.com/newsflow/newsflow/services/tagger/lang"
	"github.com/newsflow/newsflow/services/tagger/signature"
	"github.com/newsflow/newsflow/services/tagger/topic"
)

// Doc is a labelled article of a corpus.
type Doc struct {
	topic.Doc
	Path string
}

// ReadCorpus reads dir/<label>/*.txt: one article a file, the first line
// its title. The directory name is the label. Languages are detected.
func ReadCorpus(dir string) ([]Doc, error) {
	classes, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read corpus: %w", err)
	}
	var docs []Doc
	for _, c := range classes {
		if !c.IsDir() {
			continue
		}
		files, err := filepath.Glob(filepath.Join(dir, c.Name(), "*.txt"))
		if err != nil {
			return nil, fmt.Errorf("read corpus: %w", err)
		}
		sort.Strings(files)
		for _, f := range files {
			d, err := readDoc(f)
			if err != nil {
				return nil, err
			}
			d.Label = c.Name()
			docs = append(docs, d)
		}
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("read corpus %s: no DIR/<label>/*.txt files", dir)
	}
	parallel(len(docs), func(i int) { docs[i].detect() })
	return docs, nil
}

// parallel calls f(0) … f(n-1) on every CPU.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		})
	}
	wg.Wait()
}

// ReadDoc reads one article file: the first line is the title.
func ReadDoc(path string) (Doc, error) {
	d, err := readDoc(path)
	d.detect()
	return d, err
}

func readDoc(path string) (Doc, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Doc{}, fmt.Errorf("read article: %w", err)
	}
	title, text, _ := strings.Cut(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	d := Doc{Path: path}
	d.Title, d.Text = strings.TrimSpace(title), text
	return d, nil
}

func (d *Doc) detect() { d.Lang = lang.Detect(d.Title + "\n" + d.Text).Code }

// nearDuplicate is the MinHash Jaccard at which two articles count as one
// for deduplication.
const nearDuplicate = 0.8

// Dedup drops exact duplicates (same words) and near-duplicates (Jaccard of
// word shingles at least nearDuplicate) of an earlier document, so a split
// never tests on a copy of a training document. Candidate pairs come from
// MinHash bands (locality-sensitive hashing): two documents are compared
// only when one band of dedupRows values is equal, which a pair at the
// threshold passes with probability 1-(1-0.8^8)^32, over 0.9999.
func Dedup(docs []Doc) (kept []Doc, exact, near int) {
	seen := map[[32]byte]bool{}
	buckets := map[[2]uint64][]int{} // band, band hash → kept documents
	var sigs [][]uint32
	for _, d := range docs {
		sum := sha256.Sum256([]byte(strings.Join(strings.Fields(d.Title+" "+d.Text), " ")))
		if seen[sum] {
			exact++
			continue
		}
		seen[sum] = true
		sig := signature.Compute(d.Text).MinHash
		keys := bands(sig)
		dup := false
		for _, k := range keys {
			for _, i := range buckets[k] {
				if signature.Jaccard(sig, sigs[i]) >= nearDuplicate {
					dup = true
					break
				}
			}
			if dup {
				break
			}
		}
		if dup {
			near++
			continue
		}
		for _, k := range keys {
			buckets[k] = append(buckets[k], len(sigs))
		}
		sigs = append(sigs, sig)
		kept = append(kept, d)
	}
	return kept, exact, near
}

const dedupRows = 8

func bands(sig []uint32) [][2]uint64 {
	var out [][2]uint64
	for b := 0; b+dedupRows <= len(sig); b += dedupRows {
		h := uint64(14695981039346656037)
		for _, v := range sig[b : b+dedupRows] {
			h = (h ^ uint64(v)) * 1099511628211
		}
		out = append(out, [2]uint64{uint64(b), h})
	}
	return out
}

// ShortForm is d as a news brief: its title and first sentence only, the
// length of a wire alert or of the short-item news corpora (a title and a
// lead sentence or two).
func ShortForm(d Doc) Doc {
	d.Text = FirstSentence(d.Text)
	return d
}

// FirstSentence is the first sentence of text's first non-empty line: up
// to the first '.', '!' or '?' that is followed by a space and a capital
// letter, a digit or a quote, and does not end an initial or a short
// abbreviation ("J. Smith", "Mr. Jones", "U.S. Army"); the whole line when
// there is none.
func FirstSentence(text string) string {
	var line string
	for l := range strings.Lines(text) {
		if l = strings.TrimSpace(l); l != "" {
			line = l
			break
		}
	}
	rs := []rune(line)
	for i := 0; i+2 < len(rs); i++ {
		if (rs[i] != '.' && rs[i] != '!' && rs[i] != '?') || rs[i+1] != ' ' {
			continue
		}
		next := rs[i+2]
		if !unicode.IsUpper(next) && !unicode.IsDigit(next) && !strings.ContainsRune("\"'“‘", next) {
			continue
		}
		if rs[i] == '.' {
			// The word the dot ends: an initial or a short abbreviation
			// does not end a sentence.
			j := i
			for j > 0 && !unicode.IsSpace(rs[j-1]) {
				j--
			}
			word := strings.Trim(string(rs[j:i]), ".")
			if strings.Contains(word, ".") || len([]rune(word)) <= 2 && word != "" && unicode.IsUpper([]rune(word)[0]) {
				continue // U.S., e.g., Mr, J
			}
			switch word {
			case "Mrs", "Gen", "Sen", "Rep", "Gov", "Capt", "Prof", "Corp", "Inc", "Ltd", "Co", "Jr", "Sr", "No", "St", "vs":
				continue
			}
		}
		return string(rs[:i+1])
	}
	return line
}
