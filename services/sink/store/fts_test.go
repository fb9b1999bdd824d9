package store

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMatchExpr(t *testing.T) {
	tests := []struct {
		q         string
		wantExpr  string
		wantTerms []string
	}{
		{"", "", nil},
		{"council", `"council"`, []string{"council"}},
		{"  River   GOAL ", `"River" "GOAL"`, []string{"river", "goal"}},
		{"elect*", `"elect"*`, []string{"elect"}},
		{"elect**", `"elect"*`, []string{"elect"}},
		{`say "hi"`, `"say" """hi"""`, []string{"say", "hi"}},
		{"a AND b", `"a" "AND" "b"`, []string{"a", "and", "b"}},
		{"title:x", `"title:x"`, []string{"title:x"}},
		{"( ) - ^ *", "", nil},
		{"x\x00y \xff", `"xy"`, []string{"xy"}},
		{"Électricité", `"Électricité"`, []string{"électricité"}},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			expr, terms := matchExpr(tt.q)
			require.Equal(t, tt.wantExpr, expr)
			require.Equal(t, tt.wantTerms, terms)
		})
	}
}

func TestCursorRoundTrip(t *testing.T) {
	for _, c := range []cursor{
		{Mode: modeTime, At: 1740823200000000, ID: "a"},
		{Mode: modeTime, At: -5, ID: "b"},
		{Mode: modeRank, Rank: -0.0000024992908118250, ID: "c"},
	} {
		got, err := decodeCursor(c.encode(), c.Mode)
		require.NoError(t, err)
		require.Equal(t, c, got)
	}
}
