package stage

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Access guards a service's API: bearer tokens and a rate limit per client.
// The zero value lets everything through. /metrics, /healthz and /readyz are
// not behind it: Prometheus and the kubelet reach them without credentials.
type Access struct {
	// Tokens are the accepted "Authorization: Bearer TOKEN" values; none
	// means no token is asked for.
	Tokens []string
	// Rate is the requests a second allowed to one client (a token, or an
	// address when no token is sent) with bursts of Burst; 0 is unlimited.
	Rate  float64
	Burst int
}

// LoadTokens returns the tokens of token (one) and of file (one a line,
// blank lines and # comments skipped), for -api-token and -api-token-file.
func LoadTokens(token, file string) ([]string, error) {
	var out []string
	if token != "" {
		out = append(out, token)
	}
	if file == "" {
		return out, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read token file: %w", err)
	}
	for line := range strings.Lines(string(data)) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("token file %s holds no token", file)
	}
	return out, nil
}

// Guard wraps h with the token check (401) and the rate limit (429), both
// answered in JSON.
func (a Access) Guard(h http.Handler) http.Handler {
	if len(a.Tokens) == 0 && a.Rate <= 0 {
		return h
	}
	lim := &limiters{rate: rate.Limit(a.Rate), burst: max(1, a.Burst), clients: map[string]*client{}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, hasToken := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if len(a.Tokens) > 0 && (!hasToken || !a.valid(token)) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="newsflow"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or invalid API token: send Authorization: Bearer TOKEN"})
			return
		}
		if a.Rate > 0 {
			key := "token:" + token
			if !hasToken || len(a.Tokens) == 0 {
				key = "addr:" + clientAddr(r)
			}
			if ok, wait := lim.allow(key, time.Now()); !ok {
				w.Header().Set("Retry-After", strconv.Itoa(max(1, int(wait.Seconds()+0.999))))
				writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "rate limit exceeded: slow down"})
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

func (a Access) valid(token string) bool {
	ok := false
	for _, t := range a.Tokens {
		// Constant time, and every token compared: no timing tells which
		// prefix matched.
		if subtle.ConstantTimeCompare([]byte(t), []byte(token)) == 1 {
			ok = true
		}
	}
	return ok
}

// clientAddr is the request's peer address without its port. Forwarded
// headers are not trusted: anyone can send them.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limiters is a token bucket per client, forgetting clients idle for long.
type limiters struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	clients map[string]*client
	swept   time.Time
}

type client struct {
	lim  *rate.Limiter
	seen time.Time
}

// idleClient is how long a client's bucket is kept after its last request.
const idleClient = 10 * time.Minute

func (l *limiters) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > idleClient {
		for k, c := range l.clients {
			if now.Sub(c.seen) > idleClient {
				delete(l.clients, k)
			}
		}
		l.swept = now
	}
	c := l.clients[key]
	if c == nil {
		c = &client{lim: rate.NewLimiter(l.rate, l.burst)}
		l.clients[key] = c
	}
	c.seen = now
	res := c.lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}
