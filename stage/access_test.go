package stage

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAccessTokensAndRateLimits(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	file := filepath.Join(t.TempDir(), "tokens")
	require.NoError(t, os.WriteFile(file, []byte("# readers\nalpha\n\nbeta\n"), 0o600))
	tokens, err := LoadTokens("gamma", file)
	require.NoError(t, err)
	require.Equal(t, []string{"gamma", "alpha", "beta"}, tokens)
	_, err = LoadTokens("", filepath.Join(t.TempDir(), "missing"))
	require.Error(t, err)

	h := Access{Tokens: tokens, Rate: 1, Burst: 3}.Guard(ok)
	get := func(token, addr string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/api/v1/articles", nil)
		r.RemoteAddr = addr
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := get("", "10.0.0.1:5000")
	require.Equal(t, http.StatusUnauthorized, w.Code)
	require.Contains(t, w.Header().Get("WWW-Authenticate"), "Bearer")
	require.Contains(t, w.Body.String(), "API token")
	require.Equal(t, http.StatusUnauthorized, get("alph", "10.0.0.1:5000").Code)
	require.Equal(t, http.StatusUnauthorized, get("alphaa", "10.0.0.1:5000").Code)

	// Three at once (the burst), then the fourth is refused until a second
	// has passed; another token is a client of its own.
	for range 3 {
		require.Equal(t, http.StatusOK, get("alpha", "10.0.0.1:5000").Code)
	}
	w = get("alpha", "10.0.0.2:5000")
	require.Equal(t, http.StatusTooManyRequests, w.Code, "the token is the client, whatever its address")
	require.Equal(t, "1", w.Header().Get("Retry-After"))
	require.Equal(t, http.StatusOK, get("beta", "10.0.0.1:5000").Code)

	// Without tokens, the address is the client.
	open := Access{Rate: 1, Burst: 1}.Guard(ok)
	do := func(addr string) int {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = addr
		w := httptest.NewRecorder()
		open.ServeHTTP(w, r)
		return w.Code
	}
	require.Equal(t, http.StatusOK, do("10.0.0.1:1"))
	require.Equal(t, http.StatusTooManyRequests, do("10.0.0.1:2"))
	require.Equal(t, http.StatusOK, do("10.0.0.3:1"))
	// The zero value guards nothing.
	require.Equal(t, http.StatusOK, func() int {
		w := httptest.NewRecorder()
		Access{}.Guard(ok).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
		return w.Code
	}())
}
