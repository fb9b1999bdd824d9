package sink

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/newsflow/newsflow/stage"
	"github.com/newsflow/newsflow/stage/natstest"
)

// lostSink is one run of the sink on a SQLite file, on a NATS server that
// outlives it.
type lostSink struct {
	tel    *stage.Telemetry
	health *stage.Health
	stop   func()
}

func startLostSink(t *testing.T, ns *server.Server, path string) *lostSink {
	return startSinkWith(t, ns, Config{Store: "sqlite:" + path, BatchSize: 5, BatchWait: 20 * time.Millisecond})
}

// startSinkWith runs the sink with sc on ns until its stop is called.
func startSinkWith(t *testing.T, ns *server.Server, sc Config) *lostSink {
	cfg := stage.DefaultConfig()
	cfg.NATSURL = ns.ClientURL()
	cfg.ShutdownTimeout = 5 * time.Second
	tel, health := stage.NewTelemetry(), stage.NewHealth()
	rt, err := stage.New(t.Context(), cfg, stage.Options{Name: Name, Telemetry: tel, Health: health, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, rt, sc)
	}()
	return &lostSink{tel: tel, health: health, stop: func() {
		cancel()
		require.NoError(t, <-done)
		_ = rt.Close()
	}}
}

func (s *lostSink) inserted() int {
	return int(s.tel.CounterValues("newsflow_store_rows_written_total", "outcome")["inserted"])
}

func publishOutage(t *testing.T, js jetstream.JetStream, from, to int) {
	// The sink creates its input stream as it starts; publish once it has.
	require.Eventually(t, func() bool {
		_, err := js.Stream(t.Context(), stage.StreamFor(stage.SubjectTagged))
		return err == nil
	}, 20*time.Second, 20*time.Millisecond, "the sink to create its input stream")
	for i := from; i < to; i++ {
		data := mustMarshal(t, outageArticle(i))
		_, err := js.Publish(t.Context(), stage.SubjectTagged, data, jetstream.WithMsgID(fmt.Sprint("lost-", i)))
		require.NoError(t, err)
	}
}

func countRows(t *testing.T, path string) int {
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	var n int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM articles`).Scan(&n))
	return n
}

// TestLostDatabaseFileIsDetected: the SQLite file deleted, or replaced by
// another, under a running sink. Before, the sink kept acking into the
// unlinked file and stayed ready (after a restart, 0 rows). Now it reports
// not ready naming the loss and acks nothing more; after a restart every
// article published since the loss is stored in the new file.
func TestLostDatabaseFileIsDetected(t *testing.T) {
	for _, how := range []string{"removed", "replaced"} {
		t.Run(how, func(t *testing.T) {
			ns := natstest.Run(t)
			js := natstest.JetStream(t, ns)
			dir := t.TempDir()
			path := filepath.Join(dir, "news.db")
			s := startLostSink(t, ns, path)
			publishOutage(t, js, 0, 10)
			require.Eventually(t, func() bool { return s.inserted() == 10 }, 20*time.Second, 50*time.Millisecond)

			switch how {
			case "removed":
				for _, suffix := range []string{"", "-wal", "-shm"} {
					require.NoError(t, os.Remove(path+suffix))
				}
			case "replaced":
				other := filepath.Join(dir, "other.db")
				db, err := sql.Open("sqlite", other)
				require.NoError(t, err)
				_, err = db.Exec(`CREATE TABLE unrelated (x)`)
				require.NoError(t, err)
				require.NoError(t, db.Close())
				require.NoError(t, os.Rename(other, path))
			}
			publishOutage(t, js, 10, 20)
			require.Eventually(t, func() bool {
				return strings.Contains(fmt.Sprint(s.health.Check(t.Context())), "database file lost")
			}, 20*time.Second, 50*time.Millisecond)
			time.Sleep(2 * time.Second)
			require.Equal(t, 10, s.inserted(), "nothing acked as stored after the loss")
			require.Zero(t, s.tel.MessageCount(Name, stage.OutcomeDeadLettered))
			cons, err := js.Consumer(t.Context(), "ARTICLES_TAGGED", Name)
			require.NoError(t, err)
			info, err := cons.Info(t.Context())
			require.NoError(t, err)
			require.Equal(t, uint64(10), info.NumPending+uint64(info.NumAckPending), "the ten are still in the stream")
			s.stop()

			if how == "replaced" {
				// The operator puts a usable file back.
				for _, suffix := range []string{"", "-wal", "-shm"} {
					_ = os.Remove(path + suffix)
				}
			}
			s = startLostSink(t, ns, path)
			defer s.stop()
			require.Eventually(t, func() bool { return s.inserted() == 10 }, 30*time.Second, 50*time.Millisecond)
			require.Eventually(t, func() bool { return len(s.health.Check(t.Context())) == 0 }, 10*time.Second, 50*time.Millisecond)
			require.Equal(t, 10, countRows(t, path), "the articles since the loss, in the new file")
		})
	}
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	data, err := proto.Marshal(m)
	require.NoError(t, err)
	return data
}

// TestAPITokenAndRateLimit: with -api-token the sink's API answers 401
// without it and serves with it, while /metrics and /readyz stay open; a
// client over -rate-limit gets 429.
func TestAPITokenAndRateLimit(t *testing.T) {
	ns := natstest.Run(t)
	cfg := stage.DefaultConfig()
	cfg.NATSURL = ns.ClientURL()
	tel, health := stage.NewTelemetry(), stage.NewHealth()
	mux := stage.Mux(tel.Registry, health, false)
	rt, err := stage.New(t.Context(), cfg, stage.Options{Name: Name, Telemetry: tel, Health: health, Mux: mux, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	defer rt.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	sc := Config{Store: "sqlite:" + filepath.Join(t.TempDir(), "news.db"), APIToken: "reader-1", RateLimit: 1, RateBurst: 2}
	require.NoError(t, DefaultConfig().Validate())
	go func() { done <- Run(ctx, rt, sc) }()
	defer func() { cancel(); require.NoError(t, <-done) }()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(path, token string) int {
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Eventually(t, func() bool { return get("/api/v1/articles", "") != http.StatusNotFound }, 10*time.Second, 50*time.Millisecond)
	require.Equal(t, http.StatusUnauthorized, get("/api/v1/articles", ""))
	require.Equal(t, http.StatusUnauthorized, get("/api/v1/articles", "reader-2"))
	require.Equal(t, http.StatusOK, get("/metrics", ""))
	require.Equal(t, http.StatusOK, get("/api/v1/articles", "reader-1"))
	require.Equal(t, http.StatusOK, get("/api/v1/articles", "reader-1"))
	require.Equal(t, http.StatusTooManyRequests, get("/api/v1/articles", "reader-1"))
}
