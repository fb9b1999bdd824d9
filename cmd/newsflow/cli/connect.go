package cli

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsflow/newsflow/services/sink/sink"
	"github.com/newsflow/newsflow/services/sink/store"
	"github.com/newsflow/newsflow/stage/natsembed"
)

// target is where a command finds a pipeline: its NATS (-nats, else the
// running all-in-one's under -data, else the storage under -data) and its
// store (-store, else the SQLite database under -data). Every command that
// reaches a pipeline goes through it.
type target struct {
	dataDir string
	natsURL string
	store   string
}

// registerNATS adds -data and -nats to fs.
func (t *target) registerNATS(fs *flag.FlagSet) {
	t.registerData(fs)
	fs.StringVar(&t.natsURL, "nats", "", "NATS server `URL` (default: the running all-in-one's, else the storage under -data)")
}

// registerStore adds -data and -store to fs.
func (t *target) registerStore(fs *flag.FlagSet) {
	t.registerData(fs)
	fs.StringVar(&t.store, "store", "", "article store: sqlite:`PATH` or postgres://user:pass@host:port/db (default: sqlite:DATA/newsflow.db)")
}

func (t *target) registerData(fs *flag.FlagSet) {
	if fs.Lookup("data") == nil {
		fs.StringVar(&t.dataDir, "data", "data", "`directory` of the all-in-one's state (JetStream storage, the URL of its running NATS, the SQLite database)")
	}
}

// storeDSN is the store the command reads: -store, or the data
// directory's SQLite database.
func (t *target) storeDSN() string {
	if t.store != "" {
		return t.store
	}
	return "sqlite:" + filepath.Join(t.dataDir, "newsflow.db")
}

// openStore opens the existing store (it is not created).
func (t *target) openStore(ctx context.Context) (*store.Store, error) {
	cfg := sink.DefaultConfig()
	cfg.Store = t.storeDSN()
	if err := cfg.Validate(); err != nil {
		return nil, usageError{err}
	}
	return cfg.OpenExisting(ctx)
}

// bus is a command's connection to a pipeline's NATS.
type bus struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	closers []func()
}

// Close disconnects, and stops the embedded server if one was started.
func (b *bus) Close() {
	for _, c := range slices.Backward(b.closers) {
		c()
	}
}

// connect reaches the pipeline's NATS: -nats; else the server the running
// all-in-one recorded under -data; else, when nothing runs, an embedded
// server on the data directory's storage for the time of the command.
func (t *target) connect(name string) (_ *bus, err error) {
	b := &bus{}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	opts := []nats.Option{nats.Name("newsflow-" + name)}
	url := t.natsURL
	if url == "" {
		if rec := natsembed.Recorded(t.dataDir, natsembed.URLFile); rec != "" {
			// A stale file, from a run that did not stop cleanly, fails
			// to connect: then fall through to the storage.
			b.nc, _ = nats.Connect(rec, append(opts, nats.Timeout(2*time.Second))...)
		}
		if b.nc == nil {
			ns, err := natsembed.StartDir(t.dataDir)
			if err != nil {
				return nil, fmt.Errorf("open the pipeline's storage under %s: %w", t.dataDir, err)
			}
			b.closers = append(b.closers, func() { ns.Shutdown(); ns.WaitForShutdown() })
			url = ns.ClientURL()
		}
	}
	if b.nc == nil {
		if b.nc, err = nats.Connect(url, opts...); err != nil {
			return nil, fmt.Errorf("connect to nats %s: %w", url, err)
		}
	}
	b.closers = append(b.closers, b.nc.Close)
	if b.js, err = jetstream.New(b.nc); err != nil {
		return nil, err
	}
	return b, nil
}

// hasState reports whether the target may hold a pipeline's state: a NATS
// server is named, or the data directory has storage of an earlier run.
func (t *target) hasState() bool {
	return t.natsURL != "" || natsembed.HasStore(t.dataDir)
}
