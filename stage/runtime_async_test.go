package stage

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/stage/natstest"
)

// lockedBuffer is a bytes.Buffer safe for a logger and a reader at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// An asynchronous NATS error (here a slow consumer: a subscription whose
// handler is stuck while its pending limit is one message) is logged by
// the stage's structured logger, with the subscription's subject.
func TestAsyncNATSErrorsGoToTheStageLog(t *testing.T) {
	s := natstest.Run(t)
	var out lockedBuffer
	log := slog.New(slog.NewJSONHandler(&out, nil))
	rt, err := New(t.Context(), testConfig(s.ClientURL()), Options{Name: "normalizer", Telemetry: NewTelemetry(), Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() { _ = rt.Close() })

	stuck := make(chan struct{})
	defer close(stuck)
	sub, err := rt.nc.Subscribe("async.errors", func(*nats.Msg) { <-stuck })
	require.NoError(t, err)
	require.NoError(t, sub.SetPendingLimits(1, 1<<20))
	for range 10 {
		require.NoError(t, rt.nc.Publish("async.errors", []byte("x")))
	}
	require.NoError(t, rt.nc.Flush())

	require.Eventually(t, func() bool { return strings.Contains(out.String(), "nats asynchronous error") }, 5*time.Second, 10*time.Millisecond)
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), "every log line is JSON: %s", line)
		if rec["msg"] == "nats asynchronous error" {
			require.Equal(t, "async.errors", rec["subject"])
			require.Contains(t, rec["error"], "slow consumer")
			require.Equal(t, "normalizer", rec["stage"])
		}
	}
}
