package stage

import (
	"bytes"
	"context"
	"flag"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/stage/natstest"
)

func TestMainExitCodes(t *testing.T) {
	var own string
	prog := Program{
		Name:  "tester",
		Flags: func(fs *flag.FlagSet) { fs.StringVar(&own, "own", "", "a service flag") },
		Validate: func() error {
			var p Problems
			if own == "bad" {
				p.Add("own", "must not be bad")
			}
			return p.Err()
		},
		Run: func(ctx context.Context, _ *Runtime) error { <-ctx.Done(); return nil },
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"help", []string{"-h"}, 0, "$NEWSFLOW_OWN"},
		{"unknown flag", []string{"-nope"}, 2, "flag provided but not defined"},
		{"stray argument", []string{"extra"}, 2, "unexpected arguments"},
		{"bad runtime and service flags together", []string{"-workers", "0", "-own", "bad"}, 2, "-own: must not be bad"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			require.Equal(t, tc.code, run(context.Background(), prog, tc.args, &stderr))
			require.Contains(t, stderr.String(), tc.want)
		})
	}
}

func TestMainServesAndStopsCleanly(t *testing.T) {
	s := natstest.Run(t)
	addr := "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan *Runtime, 1)
	prog := Program{
		Name: "tester",
		Run: func(ctx context.Context, rt *Runtime) error {
			started <- rt
			<-ctx.Done()
			return nil
		},
	}
	code := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		code <- run(ctx, prog, []string{"-nats", s.ClientURL(), "-http", addr, "-log-format", "json"}, &stderr)
	}()
	var rt *Runtime
	select {
	case rt = <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("program did not start")
	}
	require.True(t, rt.Conn().IsConnected())
	cancel()
	select {
	case c := <-code:
		require.Equal(t, 0, c, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("did not stop after the context ended")
	}
	require.True(t, rt.Conn().IsClosed(), "the connection is drained and closed")
	require.Contains(t, stderr.String(), `"msg":"stopped"`)
}
