package stage

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPipelineTopology: each stage consumes what the one before publishes,
// every subject has its stream, and the consumers are the three after the
// fetcher.
func TestPipelineTopology(t *testing.T) {
	for i, s := range Pipeline {
		if i == 0 {
			require.Empty(t, s.Input, "the first stage consumes nothing")
		} else {
			require.Equal(t, Pipeline[i-1].Output, s.Input, s.Name)
		}
		for _, subj := range []string{s.Input, s.Output} {
			if subj != "" {
				require.NotEmpty(t, StreamFor(subj), subj)
			}
		}
		require.Equal(t, s, StageTopology(s.Name))
	}
	require.Empty(t, Pipeline[len(Pipeline)-1].Output, "the last stage publishes nothing")
	var names []string
	for _, c := range Consumers() {
		names = append(names, c.Name)
	}
	require.Equal(t, []string{"normalizer", "tagger", "sink"}, names)
	require.Panics(t, func() { StageTopology("nosuch") })
}
