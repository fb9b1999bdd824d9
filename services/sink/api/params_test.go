package api

import (
	"net/url"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// FuzzParseList: any query string is either refused with a named parameter
// or yields a query within the documented bounds.
func FuzzParseList(f *testing.F) {
	for _, seed := range []string{"", "limit=5", "limit=101", "q=a&q=b", "since=2025-02-10&until=2025-02-09",
		"until=2025-02-10T00:00:00%2B01:00", "language=pt-BR", "full=1", "cursor=abc", "%zz", "q=%ff", "x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		p, err := parseList(v)
		if err != nil {
			e, ok := err.(*apiError)
			require.True(t, ok, "%T", err)
			require.Equal(t, 400, e.status)
			if _, unnamed := v[""]; !unnamed {
				require.NotEmpty(t, e.param)
			}
			return
		}
		q := p.query
		require.GreaterOrEqual(t, q.Limit, 1)
		require.LessOrEqual(t, q.Limit, maxLimit)
		require.LessOrEqual(t, utf8.RuneCountInString(q.Q), maxQ)
		require.True(t, q.Since.IsZero() || q.Until.IsZero() || q.Since.Before(q.Until))
	})
}
