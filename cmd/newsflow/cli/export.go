package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/newsflow/newsflow/services/sink/api"
	"github.com/newsflow/newsflow/services/sink/store"
)

func exportCmd(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	var t target
	t.registerStore(fs)
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
	ctx := context.Background()
	st, err := t.openStore(ctx)
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
