package stage

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Config)
		flags []string // flags named in the error; none means valid
	}{
		{name: "defaults", edit: func(*Config) {}},
		{name: "http address", edit: func(c *Config) { c.HTTPAddr = "127.0.0.1:9100" }},
		{name: "empty nats", edit: func(c *Config) { c.NATSURL = "" }, flags: []string{"-nats"}},
		{name: "bad http", edit: func(c *Config) { c.HTTPAddr = "9100" }, flags: []string{"-http"}},
		{name: "zero workers", edit: func(c *Config) { c.Workers = 0 }, flags: []string{"-workers"}},
		{name: "retry order", edit: func(c *Config) { c.RetryMax = c.RetryBase / 2 }, flags: []string{"-retry-max"}},
		{name: "duplicate window shorter than a retry", edit: func(c *Config) { c.DuplicateWindow = c.RetryMax }, flags: []string{"-duplicate-window"}},
		{name: "log format", edit: func(c *Config) { c.LogFormat = "xml" }, flags: []string{"-log-format"}},
		{name: "log level", edit: func(c *Config) { c.LogLevel = "loud" }, flags: []string{"-log-level"}},
		{
			name:  "every problem at once",
			edit:  func(c *Config) { c.Workers = -1; c.MaxDeliver = 0; c.StreamReplicas = 9; c.DuplicateWindow = 0 },
			flags: []string{"-workers", "-max-deliver", "-stream-replicas", "-duplicate-window"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			if len(tc.flags) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, f := range tc.flags {
				require.Contains(t, err.Error(), f+":")
			}
			require.Len(t, strings.Split(err.Error(), "\n"), len(tc.flags))
		})
	}
}

func TestParseFlagsEnvironmentAndPrecedence(t *testing.T) {
	t.Setenv("NEWSFLOW_WORKERS", "7")
	t.Setenv("NEWSFLOW_ACK_WAIT", "90s")
	t.Setenv("NEWSFLOW_NATS", "nats://env:4222")
	c := DefaultConfig()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c.RegisterFlags(fs)
	require.NoError(t, ParseFlags(fs, []string{"-nats", "nats://flag:4222"}))
	require.Equal(t, 7, c.Workers)
	require.Equal(t, 90*time.Second, c.AckWait)
	require.Equal(t, "nats://flag:4222", c.NATSURL, "a flag beats its environment variable")
}

func TestParseFlagsBadEnvironmentNamesVariable(t *testing.T) {
	t.Setenv("NEWSFLOW_WORKERS", "many")
	c := DefaultConfig()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c.RegisterFlags(fs)
	err := ParseFlags(fs, nil)
	require.ErrorContains(t, err, "NEWSFLOW_WORKERS")
}

func TestUsageListsEnvironmentVariables(t *testing.T) {
	c := DefaultConfig()
	fs := flag.NewFlagSet("normalizer", flag.ContinueOnError)
	var out bytes.Buffer
	fs.SetOutput(&out)
	c.RegisterFlags(fs)
	err := ParseFlags(fs, []string{"-h"})
	require.True(t, errors.Is(err, flag.ErrHelp))
	for _, want := range []string{"-nats URL", "[$NEWSFLOW_NATS]", "-max-deliver", "[$NEWSFLOW_MAX_DELIVER]", `(default "6")`} {
		require.Contains(t, out.String(), want)
	}
}

func TestRetryDelayGrowsToCap(t *testing.T) {
	base, max := time.Second, 10*time.Second
	for delivered, want := range map[uint64]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 40: 10 * time.Second} {
		require.Equal(t, want, retryDelay(base, max, delivered), "delivery %d", delivered)
	}
}

func TestReadyzReportsFailedChecks(t *testing.T) {
	h := NewHealth()
	mux := Mux(NewTelemetry().Registry, h, false)
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	require.Equal(t, http.StatusOK, get("/readyz").Code)
	h.Add("sink/store", func(context.Context) error { return errors.New("database is locked") })
	rec := get("/readyz")
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Contains(t, rec.Body.String(), "database is locked")
	require.Equal(t, http.StatusOK, get("/healthz").Code, "liveness does not depend on readiness")
	require.Contains(t, get("/metrics").Body.String(), "go_goroutines")
}

func TestParseFailpoint(t *testing.T) {
	f, err := parseFailpoint("")
	require.NoError(t, err)
	f.afterPublish() // off: returns
	f, err = parseFailpoint("crash-after-publish:3")
	require.NoError(t, err)
	require.Equal(t, int64(3), f.after)
	for _, bad := range []string{"crash", "crash-after-publish:", "crash-after-publish:0", "crash-after-publish:x", "panic-after-publish:1"} {
		_, err := parseFailpoint(bad)
		require.ErrorContains(t, err, EnvFailpoint, bad)
	}
}

func TestLogsMaskURLPasswords(t *testing.T) {
	var buf strings.Builder
	log, err := NewLogger(&buf, "json", "info")
	require.NoError(t, err)
	log.Warn("poll", "feed", "https://u:hunter2@x.example/f.xml", "error", fmt.Errorf(`Get "http://u:hunter2@x.example/f.xml": refused`))
	require.NotContains(t, buf.String(), "hunter2")
	require.Contains(t, buf.String(), "https://u:xxxxx@x.example/f.xml")
	require.Equal(t, "see ftp://a:xxxxx@h/ and http://b:xxxxx@k/p", RedactURLs("see ftp://a:1@h/ and http://b:2:3@k/p"))
	require.Equal(t, "no credentials: http://h/a@b", RedactURLs("no credentials: http://h/a@b"))
}

func TestUnknownPathsAnswerJSON(t *testing.T) {
	mux := Mux(NewTelemetry().Registry, NewHealth(), false)
	for _, path := range []string{"/", "/debug/pprof/", "/nothing"} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		require.Equal(t, http.StatusNotFound, w.Code)
		require.Equal(t, "application/json", w.Header().Get("Content-Type"))
		require.Contains(t, w.Body.String(), `"error"`)
	}
}

func TestPprofOnlyWhenAsked(t *testing.T) {
	mux := Mux(NewTelemetry().Registry, NewHealth(), true)
	for path, want := range map[string]string{"/debug/pprof/": "goroutine", "/debug/pprof/heap?debug=1": "heap profile"} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		require.Equal(t, http.StatusOK, w.Code, path)
		require.Contains(t, w.Body.String(), want, path)
	}
	c := DefaultConfig()
	c.Pprof = true
	require.ErrorContains(t, c.Validate(), "-pprof")
}
