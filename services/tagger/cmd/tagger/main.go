// Command tagger runs the tagger stage against a NATS server.
package main

import (
	"context"
	"os"
	"runtime/debug"

	"github.com/newsflow/newsflow/services/tagger/tagger"
	"github.com/newsflow/newsflow/stage"
)

// memoryLimit is the tagger's soft heap limit unless GOMEMLIMIT sets one:
// with the story index full (-story-max 10000) the process measured 82-89
// MB resident; the limit makes the garbage collector work harder before a
// peak, not fail, so it keeps the tagger under its 100 MB budget.
const memoryLimit = 80 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	cfg := tagger.DefaultConfig()
	os.Exit(stage.Main(stage.Program{
		Name:     tagger.Name,
		HTTPAddr: "127.0.0.1:9103", // loopback unless -http says otherwise (deploy/ does)
		Flags:    cfg.RegisterFlags,
		Validate: func() error { return cfg.Validate() },
		Run:      func(ctx context.Context, rt *stage.Runtime) error { return tagger.Run(ctx, rt, cfg) },
	}))
}
