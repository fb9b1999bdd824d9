package stage

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	httppprof "net/http/pprof"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Health collects readiness checks: the NATS connection and consumer of each
// stage, and whatever a service adds (the sink's store). Liveness (/healthz)
// only says the process serves HTTP; readiness (/readyz) runs every check.
type Health struct {
	mu     sync.Mutex
	checks map[string]func(context.Context) error
}

// NewHealth returns an empty set of checks.
func NewHealth() *Health { return &Health{checks: map[string]func(context.Context) error{}} }

// Add registers (or replaces) a named readiness check.
func (h *Health) Add(name string, check func(context.Context) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks[name] = check
}

// Status registers a readiness check whose state the service reports as it
// learns it, instead of one run on each request: the sink sets the error of
// its last store write (nil once a write succeeds), so /readyz fails while
// the store is down. The check passes until the first report.
func (h *Health) Status(name string) (report func(error)) {
	var mu sync.Mutex
	var last error
	h.Add(name, func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		return last
	})
	return func(err error) {
		mu.Lock()
		defer mu.Unlock()
		last = err
	}
}

// Check runs every check and returns each failure by name.
func (h *Health) Check(ctx context.Context) map[string]error {
	h.mu.Lock()
	checks := make(map[string]func(context.Context) error, len(h.checks))
	for k, v := range h.checks {
		checks[k] = v
	}
	h.mu.Unlock()
	failed := map[string]error{}
	for name, check := range checks {
		if err := check(ctx); err != nil {
			failed[name] = err
		}
	}
	return failed
}

// Mux returns a ServeMux with /metrics, /healthz and /readyz; services add
// their own routes (the sink's API) to it. With pprof it also serves Go's
// profiles under /debug/pprof/.
func Mux(reg prometheus.Gatherer, h *Health, pprof bool) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		failed := h.Check(ctx)
		if len(failed) == 0 {
			writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
			return
		}
		// encoding/json writes map keys sorted.
		reasons := make(map[string]string, len(failed))
		for n, err := range failed {
			reasons[n] = err.Error()
		}
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "failed": reasons})
	})
	if pprof {
		mux.HandleFunc("GET /debug/pprof/", httppprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", httppprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", httppprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", httppprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", httppprof.Trace)
	}
	// Anything else (/, /debug/pprof without -pprof) answers in JSON like
	// the API beside it.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such endpoint: " + r.URL.Path})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Serve serves handler on addr as part of g until g closes, then shuts the
// server down gracefully (within timeout). It returns the address bound. A
// server that fails ends the group.
func (g *Group) Serve(addr string, handler http.Handler, timeout time.Duration) (string, error) {
	srv := &http.Server{Addr: addr, Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	ln, err := listen(addr)
	if err != nil {
		return "", err
	}
	failed := make(chan error, 1)
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			failed <- err
		}
	}()
	g.Go("http server", func(ctx context.Context) error {
		select {
		case err := <-failed:
			return err
		case <-ctx.Done():
			return nil
		}
	})
	g.Defer("http server", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return srv.Shutdown(ctx)
	})
	return ln.Addr().String(), nil
}
