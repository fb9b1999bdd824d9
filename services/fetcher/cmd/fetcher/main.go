// Command fetcher runs the fetcher stage: it polls feeds (or ingests local
// files) and publishes the fetched pages to NATS.
package main

import (
	"context"
	"os"

	"github.com/newsflow/newsflow/services/fetcher/fetcher"
	"github.com/newsflow/newsflow/stage"
)

func main() {
	opts := fetcher.DefaultConfig()
	os.Exit(stage.Main(stage.Program{
		Name:     fetcher.Name,
		HTTPAddr: "127.0.0.1:9101", // loopback unless -http says otherwise (deploy/ does)
		Flags:    opts.RegisterFlags,
		Validate: func() error { return opts.Validate() },
		Run:      func(ctx context.Context, rt *stage.Runtime) error { return fetcher.Run(ctx, rt, opts) },
	}))
}
