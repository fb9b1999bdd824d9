// Command sink runs the sink stage (store and query API) against a NATS server.
package main

import (
	"context"
	"os"

	"github.com/newsflow/newsflow/services/sink/sink"
	"github.com/newsflow/newsflow/stage"
)

func main() {
	cfg := sink.DefaultConfig()
	os.Exit(stage.Main(stage.Program{
		Name:     sink.Name,
		HTTPAddr: "127.0.0.1:8080", // loopback unless -http says otherwise (deploy/ does)
		Flags:    cfg.RegisterFlags,
		Validate: func() error { return cfg.Validate() },
		Run:      func(ctx context.Context, rt *stage.Runtime) error { return sink.Run(ctx, rt, cfg) },
	}))
}
