package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"io"
	"path/filepath"

	"github.com/newsflow/newsflow/services/sink/sink"
	"github.com/newsflow/newsflow/services/sink/store"
)

func exportCmd(args []string, stdout, stderr io.Writer) error {
	var cfg sink.Config
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	dataDir := fs.String("data", "data", "`directory` of a newsflow run (its store is DIR/newsflow.db)")
	cfg.RegisterFlags(fs)
	fs.Lookup("store").Usage = "article store: sqlite:`PATH` (default: sqlite:DATA/newsflow.db)"
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if cfg.Store == "" {
		cfg.Store = "sqlite:" + filepath.Join(*dataDir, "newsflow.db")
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	ctx := context.Background()
	st, err := cfg.OpenExisting(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	w := bufio.NewWriter(stdout)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := st.Each(ctx, func(a *store.Article) error { return enc.Encode(a) }); err != nil {
		return err
	}
	return w.Flush()
}
