// Package signature computes content signatures of article text for
// near-duplicate detection: a 64-bit SimHash and a MinHash sketch, both over
// word shingles (runs of Shingle consecutive lowercased words).
//
// MinHash estimates the Jaccard similarity of two shingle sets; with the
// sets' sizes it also estimates containment (the share of one article's
// shingles found in the other), which is what tells a derived article
// (reusing part of another) from an unrelated one on the same subject.
// Hashes are FNV-1a and splitmix64 with fixed seeds, so a signature is the
// same in every process and release.
package signature

import (
	"hash/fnv"
	"math/bits"
	"strings"

	"github.com/newsflow/newsflow/services/tagger/token"
)

const (
	// Shingle is the number of words in a shingle: three words are specific
	// enough that two independent writers rarely share one by chance.
	Shingle = 3
	// Hashes is the number of MinHash values: at J = 0.1 the estimate's
	// standard error is about 0.019.
	Hashes = 256
)

// Signature is the content signature of one text.
type Signature struct {
	SimHash uint64
	MinHash []uint32 // Hashes values, or nil for a text with no shingle
	Size    int      // distinct shingles
}

// Compute returns the signature of text (title excluded by the caller's
// choice: headlines are rewritten by every outlet).
func Compute(text string) Signature {
	set := Shingles(text)
	if len(set) == 0 {
		return Signature{}
	}
	// An array, not a slice, so that the loops below run without bounds
	// checks.
	var mins [Hashes]uint32
	for i := range mins {
		mins[i] = ^uint32(0)
	}
	var votes [64]int
	for h := range set {
		for b := range votes {
			votes[b] += int(h>>b&1)*2 - 1 // +1 for a set bit, -1 for a clear one
		}
		// One strong mix of the shingle, then a cheap affine hash per
		// function (a_i odd): the family of Dietzfelbinger's
		// multiply-shift scheme, top 32 bits kept.
		x := mix(h)
		for i := range mins {
			mins[i] = min(mins[i], uint32((mulSeeds[i]*x+addSeeds[i])>>32))
		}
	}
	var sim uint64
	for b, v := range votes {
		if v > 0 {
			sim |= 1 << b
		}
	}
	return Signature{SimHash: sim, MinHash: mins[:], Size: len(set)}
}

// Shingles returns the hashed word shingles of text. A text shorter than a
// shingle yields one shingle of all its words.
func Shingles(text string) map[uint64]struct{} {
	words := token.Split(text)
	norm := make([]string, 0, len(words))
	for _, w := range words {
		norm = append(norm, strings.ToLower(w.Text))
	}
	set := make(map[uint64]struct{}, len(norm))
	if len(norm) == 0 {
		return set
	}
	if len(norm) < Shingle {
		set[hash(norm)] = struct{}{}
		return set
	}
	for i := 0; i+Shingle <= len(norm); i++ {
		set[hash(norm[i:i+Shingle])] = struct{}{}
	}
	return set
}

func hash(words []string) uint64 {
	h := fnv.New64a()
	for i, w := range words {
		if i > 0 {
			h.Write([]byte{' '})
		}
		h.Write([]byte(w))
	}
	return h.Sum64()
}

// mix is splitmix64's finaliser: a cheap, well-spread permutation of uint64.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// mulSeeds (odd) and addSeeds are the per-function parameters of the
// MinHash family, derived from a fixed start so every process computes the
// same sketch.
var mulSeeds, addSeeds = func() (m, a [Hashes]uint64) {
	x := uint64(0x6e657773666c6f77) // "newsflow"
	for i := range m {
		x = mix(x)
		m[i] = x | 1
		x = mix(x)
		a[i] = x
	}
	return m, a
}()

// Jaccard estimates the Jaccard similarity of the shingle sets behind a and
// b: the share of MinHash positions where they agree. Position i holds the
// same hash function in every sketch, so a shorter sketch (a prefix, as the
// story index keeps) compares on the positions both have; an empty sketch
// compares as 0.
func Jaccard(a, b []uint32) float64 {
	n := min(len(a), len(b))
	if n == 0 {
		return 0
	}
	same := 0
	for i := range n {
		if a[i] == b[i] {
			same++
		}
	}
	return float64(same) / float64(n)
}

// Containment estimates the share of a's shingles that b holds, from the
// Jaccard estimate and both set sizes: |A∩B| = J(|A|+|B|)/(1+J).
func Containment(a, b Signature) float64 {
	_, aInB, _ := Overlap(a, b)
	return aInB
}

// Overlap compares a and b in one pass over their sketches: the Jaccard
// estimate, the share of a's shingles that b holds and the share of b's
// that a holds (see Containment).
func Overlap(a, b Signature) (jaccard, aInB, bInA float64) {
	j := Jaccard(a.MinHash, b.MinHash)
	if a.Size == 0 || b.Size == 0 {
		return j, 0, 0
	}
	inter := j * float64(a.Size+b.Size) / (1 + j)
	return j, min(1, inter/float64(a.Size)), min(1, inter/float64(b.Size))
}

// Distance is the Hamming distance of two SimHashes.
func Distance(a, b uint64) int {
	return bits.OnesCount64(a ^ b)
}
