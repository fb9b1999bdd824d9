// Package rank orders counted things: most first, ties by name.
package rank

import (
	"cmp"
	"slices"
)

// Keys returns m's keys by descending count, ties in name order.
func Keys[N cmp.Ordered](m map[string]N) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(m[b], m[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return keys
}
