package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/newsflow/newsflow/services/sink/api"
	"github.com/newsflow/newsflow/services/sink/sink"
	"github.com/newsflow/newsflow/services/sink/store"
)

func exportCmd(args []string, stdout, stderr io.Writer) error {
	cfg := sink.DefaultConfig()
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	dataDir := fs.String("data", "data", "`directory` of a newsflow run (its store is DIR/newsflow.db)")
	fs.StringVar(&cfg.Store, "store", "", "article store: sqlite:`PATH` or postgres://user:pass@host:port/db (default: sqlite:DATA/newsflow.db)")
	var q store.Query
	var since, until string
	fs.StringVar(&q.Topic, "topic", "", "only articles with this IPTC `topic` (code or label)")
	fs.StringVar(&q.Entity, "entity", "", "only articles naming this `entity` (case-insensitive)")
	fs.StringVar(&q.Source, "source", "", "only articles from this `host` name")
	fs.StringVar(&q.Language, "language", "", "only articles in this `language` (en, pt-br, …)")
	fs.StringVar(&since, "since", "", "only articles published at or after `TIME` (RFC 3339 or YYYY-MM-DD)")
	fs.StringVar(&until, "until", "", "only articles published before `TIME` (a date means through that day)")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	var err error
	var errs []error
	if q.Since, err = api.ParseTime(since, false); err != nil {
		errs = append(errs, fmt.Errorf("-since: %w", err))
	}
	if q.Until, err = api.ParseTime(until, true); err != nil {
		errs = append(errs, fmt.Errorf("-until: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return usageError{err}
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
	if err := st.EachMatching(ctx, q, func(a *store.Article) error { return enc.Encode(a) }); err != nil {
		return err
	}
	return w.Flush()
}
