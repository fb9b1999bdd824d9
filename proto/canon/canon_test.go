package canon

import (
	"errors"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestURL(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"already canonical", "https://example.com/a/b?x=1", "https://example.com/a/b?x=1"},
		{"lowercase scheme and host", "HTTPS://Example.COM/Path/To", "https://example.com/Path/To"},
		{"keep path case", "https://example.com/CaseSensitive/ID", "https://example.com/CaseSensitive/ID"},
		{"drop default http port", "http://example.com:80/a", "http://example.com/a"},
		{"drop default https port", "https://example.com:443/a", "https://example.com/a"},
		{"keep other port", "https://example.com:8443/a", "https://example.com:8443/a"},
		{"port 443 on http is not default", "http://example.com:443/a", "http://example.com:443/a"},
		{"drop fragment", "https://example.com/a#section-2", "https://example.com/a"},
		{"drop utm", "https://example.com/a?utm_source=x&utm_medium=y&id=7", "https://example.com/a?id=7"},
		{"drop utm any case", "https://example.com/a?UTM_Campaign=x&id=7", "https://example.com/a?id=7"},
		{"drop fbclid and gclid", "https://example.com/a?fbclid=abc&gclid=def&p=2", "https://example.com/a?p=2"},
		{"only tracking leaves no question mark", "https://example.com/a?utm_source=x", "https://example.com/a"},
		{"sort params", "https://example.com/a?z=1&b=2&a=3", "https://example.com/a?a=3&b=2&z=1"},
		{"sort repeated keys by value", "https://example.com/a?t=b&t=a", "https://example.com/a?t=a&t=b"},
		{"keep param encoding", "https://example.com/s?q=a+b&r=a%20b", "https://example.com/s?q=a+b&r=a%20b"},
		{"drop empty pairs", "https://example.com/a?&x=1&&", "https://example.com/a?x=1"},
		{"empty query marker", "https://example.com/a?", "https://example.com/a"},
		{"empty path becomes slash", "https://example.com", "https://example.com/"},
		{"trailing dot in host", "https://example.com./a", "https://example.com/a"},
		{"ipv6 with default port", "http://[::1]:80/a", "http://[::1]/a"},
		{"ipv6 with port", "http://[::1]:8080/a", "http://[::1]:8080/a"},
		{"surrounding space", "  https://example.com/a \n", "https://example.com/a"},
		{"encoded path kept", "https://example.com/a%2Fb/c", "https://example.com/a%2Fb/c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := URL(tt.in)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			again, err := URL(got)
			require.NoError(t, err)
			require.Equal(t, got, again, "canonical form must be a fixed point")
		})
	}
}

func TestURLErrors(t *testing.T) {
	tests := []struct {
		name, in    string
		unsupported bool
	}{
		{"relative", "/a/b", true},
		{"ftp", "ftp://example.com/a", true},
		{"file", "file:///etc/passwd", true},
		{"mailto", "mailto:a@example.com", true},
		{"no host", "https:///a", true},
		{"bad escape", "https://example.com/%zz", false},
		{"control character", "https://example.com/\x7f\x00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := URL(tt.in)
			require.Error(t, err)
			require.Equal(t, tt.unsupported, errors.Is(err, ErrUnsupported))
		})
	}
}

func BenchmarkURL(b *testing.B) {
	for b.Loop() {
		_, _ = URL("HTTPS://Www.Example.com:443/News/2024/story?utm_source=rss&b=2&a=1#top")
	}
}

// TestURLIsIdempotent: a canonical URL canonicalises to itself, so callers
// may canonicalise twice (ArticleID does, on URLs the fetcher already
// canonicalised).
func TestURLIsIdempotent(t *testing.T) {
	for _, in := range []string{
		"HTTPS://Example.COM:443/Path/To?b=2&a=1&utm_x=y#f",
		"https://example.com/a%2Fb?q=a+b&r=a%20b",
		"http://[::1]:8080/x",
		"https://example.com",
		"https://example.com/caf%C3%A9?x=%E2%82%AC",
	} {
		c, err := URL(in)
		require.NoError(t, err)
		c2, err := URL(c)
		require.NoError(t, err)
		require.Equal(t, c, c2, in)
	}
}

func TestResolve(t *testing.T) {
	base, err := url.Parse("https://news.example/world/story?x=1")
	require.NoError(t, err)
	for ref, want := range map[string]string{
		"/a":                       "https://news.example/a",
		"b":                        "https://news.example/world/b",
		"//cdn.example/i.png":      "https://cdn.example/i.png",
		"HTTP://Other.Example/Z":   "http://Other.Example/Z", // kept as written
		"mailto:desk@news.example": "",
		"javascript:void(0)":       "",
		"":                         "",
		"https://":                 "",
	} {
		require.Equal(t, want, Resolve(base, ref), ref)
	}
	require.Equal(t, "", Resolve(nil, "/relative"), "no base: only absolute URLs")
	require.Equal(t, "https://a.example/x", Resolve(nil, "https://a.example/x"))
}
