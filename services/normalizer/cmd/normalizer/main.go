// Command normalizer runs the normalizer stage against a NATS server.
package main

import (
	"context"
	"os"

	"github.com/newsflow/newsflow/services/normalizer/normalizer"
	"github.com/newsflow/newsflow/stage"
)

func main() {
	cfg := normalizer.DefaultConfig()
	os.Exit(stage.Main(stage.Program{
		Name:     normalizer.Name,
		HTTPAddr: "127.0.0.1:9102", // loopback unless -http says otherwise (deploy/ does)
		Flags:    cfg.RegisterFlags,
		Validate: func() error { return cfg.Validate() },
		Run:      func(ctx context.Context, rt *stage.Runtime) error { return normalizer.Run(ctx, rt, cfg) },
	}))
}
