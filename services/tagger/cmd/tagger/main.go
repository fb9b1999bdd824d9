// Command tagger runs the tagger stage against a NATS server.
package main

import (
	"context"
	"os"

	"github.com/newsflow/newsflow/services/tagger/tagger"
	"github.com/newsflow/newsflow/stage"
)

func main() {
	var cfg tagger.Config
	os.Exit(stage.Main(stage.Program{
		Name:     tagger.Name,
		HTTPAddr: ":9103",
		Flags:    cfg.RegisterFlags,
		Validate: func() error { return cfg.Validate() },
		Run:      func(ctx context.Context, rt *stage.Runtime) error { return tagger.Run(ctx, rt, cfg) },
	}))
}
