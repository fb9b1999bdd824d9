package boilerplate

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDefaultRules runs every embedded rule's own cases one by one, so a
// failure names the rule, and checks each rule shows both a removal and a
// line it must keep.
func TestDefaultRules(t *testing.T) {
	s, err := Default()
	require.NoError(t, err)
	require.NotEmpty(t, s.Rules())
	for _, r := range s.Rules() {
		t.Run(r.Name, func(t *testing.T) {
			require.NotEmpty(t, r.Tests)
			removes := false
			for _, c := range r.Tests {
				got, changed := r.Apply(slices.Clone(c.In))
				require.Equal(t, c.Out, got, "in: %q", c.In)
				require.Equal(t, !slices.Equal(c.In, c.Out), changed)
				removes = removes || changed
			}
			require.True(t, removes, "rule %s has no case where it fires", r.Name)
		})
	}
}
