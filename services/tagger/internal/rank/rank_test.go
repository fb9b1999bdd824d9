package rank

import (
	"slices"
	"testing"
)

func TestKeys(t *testing.T) {
	got := Keys(map[string]int{"sport": 3, "politics": 5, "economy": 3, "science": 1})
	want := []string{"politics", "economy", "sport", "science"}
	if !slices.Equal(got, want) {
		t.Fatalf("Keys = %v, want %v", got, want)
	}
	if got := Keys(map[string]float64{}); len(got) != 0 {
		t.Fatalf("Keys of nothing = %v", got)
	}
}
