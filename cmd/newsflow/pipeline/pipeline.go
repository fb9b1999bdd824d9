// Package pipeline assembles the all-in-one newsflow: an embedded NATS
// server with JetStream, the four stages in one process (each with its own
// NATS connection and exactly the services' code), and one HTTP address for
// the API, /metrics, /healthz and /readyz.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/services/fetcher/fetcher"
	"github.com/newsflow/newsflow/services/normalizer/normalizer"
	"github.com/newsflow/newsflow/services/sink/sink"
	"github.com/newsflow/newsflow/services/tagger/tagger"
	"github.com/newsflow/newsflow/stage"
	"github.com/newsflow/newsflow/stage/natsembed"
	"github.com/newsflow/newsflow/stage/ops"
)

// Options configure the all-in-one pipeline.
type Options struct {
	// DataDir holds JetStream's storage (DataDir/nats) and, unless
	// Sink.Store says otherwise, the SQLite database.
	DataDir string
	// NATSURL, when set, uses that server instead of an embedded one.
	NATSURL string
	// HTTPAddr serves the API and /metrics ("" disables HTTP).
	HTTPAddr string

	Stage      stage.Config
	Fetcher    fetcher.Config
	Normalizer normalizer.Config
	Tagger     tagger.Config
	Sink       sink.Config

	Logger *slog.Logger
}

// Pipeline is a running all-in-one newsflow.
type Pipeline struct {
	// Addr is the HTTP address actually bound ("" without HTTP).
	Addr string
	// NATSURL is the server the stages use.
	NATSURL string

	group   *stage.Group
	tel     *stage.Telemetry
	nc      *nats.Conn
	js      jetstream.JetStream
	fetcher *fetcher.Stage

	deadMu sync.Mutex
	dead   []stage.DeadLetter
}

// Start starts every part. The stages run until Close.
func Start(ctx context.Context, o Options) (_ *Pipeline, err error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	p := &Pipeline{group: stage.NewGroup(), tel: stage.NewTelemetry()}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	g := p.group
	if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	p.NATSURL = o.NATSURL
	if p.NATSURL == "" {
		ns, err := natsembed.StartDir(o.DataDir)
		if err != nil {
			return nil, err
		}
		g.Defer("embedded nats", func() error { ns.Shutdown(); ns.WaitForShutdown(); return nil })
		p.NATSURL = ns.ClientURL()
		// Commands such as "newsflow feeds" find the running server here.
		unrecord, err := natsembed.Record(o.DataDir, natsembed.URLFile, p.NATSURL)
		if err != nil {
			return nil, err
		}
		g.Defer("nats url", func() error { unrecord(); return nil })
	}
	o.Stage.NATSURL = p.NATSURL

	health := stage.NewHealth()
	var mux *http.ServeMux
	if o.HTTPAddr != "" {
		mux = stage.Mux(p.tel.Registry, health, o.Stage.Pprof)
		if p.Addr, err = g.Serve(o.HTTPAddr, mux, o.Stage.ShutdownTimeout); err != nil {
			return nil, err
		}
		// "newsflow status" reads the metrics here.
		unrecord, err := natsembed.Record(o.DataDir, natsembed.HTTPFile, p.Addr)
		if err != nil {
			return nil, err
		}
		g.Defer("http addr", func() error { unrecord(); return nil })
	}

	// A connection of the runner's own, to watch consumers and dead letters.
	if p.nc, err = nats.Connect(p.NATSURL, nats.Name("newsflow-runner")); err != nil {
		return nil, fmt.Errorf("connect to nats: %w", err)
	}
	g.Defer("runner nats", func() error { p.nc.Close(); return nil })
	if p.js, err = jetstream.New(p.nc); err != nil {
		return nil, err
	}
	if _, err := p.nc.Subscribe(stage.SubjectDeadPrefix+">", p.recordDead); err != nil {
		return nil, fmt.Errorf("watch dead letters: %w", err)
	}

	// Each stage's connection drains at Close, which may take up to the
	// shutdown timeout: drain them together.
	var rts []*stage.Runtime
	g.Defer("stage nats", func() error {
		errs := make([]error, len(rts))
		var wg sync.WaitGroup
		for i, rt := range rts {
			wg.Go(func() { errs[i] = rt.Close() })
		}
		wg.Wait()
		return errors.Join(errs...)
	})
	newRuntime := func(name string) (*stage.Runtime, error) {
		rt, err := stage.New(ctx, o.Stage, stage.Options{Name: name, Telemetry: p.tel, Health: health, Mux: mux, Logger: o.Logger})
		if err != nil {
			return nil, err
		}
		rts = append(rts, rt)
		return rt, nil
	}
	runs := map[string]func(context.Context, *stage.Runtime) error{
		normalizer.Name: func(ctx context.Context, rt *stage.Runtime) error { return normalizer.Run(ctx, rt, o.Normalizer) },
		tagger.Name:     func(ctx context.Context, rt *stage.Runtime) error { return tagger.Run(ctx, rt, o.Tagger) },
		sink.Name:       func(ctx context.Context, rt *stage.Runtime) error { return sink.Run(ctx, rt, o.Sink) },
	}
	for _, c := range stage.Consumers() {
		rt, err := newRuntime(c.Name)
		if err != nil {
			return nil, err
		}
		run := runs[c.Name]
		g.Go(c.Name, func(ctx context.Context) error { return run(ctx, rt) })
	}
	rt, err := newRuntime(fetcher.Name)
	if err != nil {
		return nil, err
	}
	if p.fetcher, err = fetcher.Start(ctx, rt, o.Fetcher); err != nil {
		return nil, err
	}
	return p, nil
}

// Fetcher is the pipeline's fetcher stage, to run once or continuously.
func (p *Pipeline) Fetcher() *fetcher.Stage { return p.fetcher }

// Telemetry is the process's metrics.
func (p *Pipeline) Telemetry() *stage.Telemetry { return p.tel }

// Done is closed when a stage or the HTTP server has stopped on its own;
// Err then says why.
func (p *Pipeline) Done() <-chan struct{} { return p.group.Done() }

// Err is the first error of a stage or the HTTP server, nil while none
// has failed.
func (p *Pipeline) Err() error { return p.group.Err() }

func (p *Pipeline) recordDead(m *nats.Msg) {
	d := stage.ParseDeadLetter(m.Header, m.Data)
	d.Article = &newsflowv1.Article{Url: d.URL()} // keep the URL, not the page
	p.deadMu.Lock()
	p.dead = append(p.dead, d)
	p.deadMu.Unlock()
}

// DeadLetters returns the dead letters seen since Start.
func (p *Pipeline) DeadLetters() []stage.DeadLetter {
	p.deadMu.Lock()
	defer p.deadMu.Unlock()
	return append([]stage.DeadLetter(nil), p.dead...)
}

// WaitIdle returns once every consumer has caught up: nothing pending and
// nothing awaiting an ack (retries included), seen twice in a row, and the
// tagger has no relink waiting (it sends them once caught up, which makes
// the consumers busy again). Every article published before the call is
// then stored or dead-lettered, with its final story links.
func (p *Pipeline) WaitIdle(ctx context.Context) error {
	for {
		err := ops.WaitIdle(ctx, p.nc, p.js, 100*time.Millisecond, func() error {
			select {
			case <-p.group.Done():
				if err := p.group.Err(); err != nil {
					return err
				}
				return errors.New("pipeline stopped")
			default:
				return nil
			}
		})
		if err != nil || p.tel.GaugeSum("newsflow_story_relinks_pending") == 0 {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Close stops the stages gracefully (finishing in-flight work), then the
// HTTP server and the embedded NATS server.
func (p *Pipeline) Close() error { return p.group.Close() }
