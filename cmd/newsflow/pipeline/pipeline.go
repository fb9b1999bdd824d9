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
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/services/fetcher/fetcher"
	"github.com/newsflow/newsflow/services/normalizer/normalizer"
	"github.com/newsflow/newsflow/services/sink/sink"
	"github.com/newsflow/newsflow/services/tagger/tagger"
	"github.com/newsflow/newsflow/stage"
	"github.com/newsflow/newsflow/stage/natsembed"
)

// MaxPayload is the embedded server's message size limit. It is above the
// fetcher's default page cap, so a page the fetcher accepts always fits.
const MaxPayload = 8 << 20

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
	Fetcher    fetcher.Options
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

	tel     *stage.Telemetry
	log     *slog.Logger
	ns      *server.Server
	nc      *nats.Conn
	js      jetstream.JetStream
	fetcher *fetcher.Stage
	rts     []*stage.Runtime

	cancel   context.CancelFunc
	stopHTTP context.CancelFunc
	wg       sync.WaitGroup
	errs     chan error

	deadMu sync.Mutex
	dead   []stage.DeadLetter

	urlFile string // where the embedded server's URL is recorded
}

// NATSURLFile, in the data directory, holds the URL of the embedded NATS
// server while the all-in-one runs.
const NATSURLFile = "nats.url"

// Start starts every part. The stages run until Close.
func Start(ctx context.Context, o Options) (_ *Pipeline, err error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	p := &Pipeline{tel: stage.NewTelemetry(), log: o.Logger, errs: make(chan error, 8)}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	p.NATSURL = o.NATSURL
	if p.NATSURL == "" {
		p.ns, err = natsembed.Start(natsembed.Options{Port: -1, StoreDir: filepath.Join(o.DataDir, "nats"), MaxPayload: MaxPayload})
		if err != nil {
			return nil, err
		}
		p.NATSURL = p.ns.ClientURL()
		// Commands such as "newsflow feeds" find the running server here.
		p.urlFile = filepath.Join(o.DataDir, NATSURLFile)
		if err := os.WriteFile(p.urlFile, []byte(p.NATSURL+"\n"), 0o644); err != nil {
			return nil, fmt.Errorf("record nats url: %w", err)
		}
	}
	o.Stage.NATSURL = p.NATSURL

	health := stage.NewHealth()
	var mux *http.ServeMux
	httpCtx, stopHTTP := context.WithCancel(context.Background())
	p.stopHTTP = stopHTTP
	if o.HTTPAddr != "" {
		mux = stage.Mux(p.tel.Registry, health)
		addr, errc, err := stage.Serve(httpCtx, o.HTTPAddr, mux, o.Stage.ShutdownTimeout)
		if err != nil {
			return nil, err
		}
		p.Addr = addr
		go func() {
			if err := <-errc; err != nil {
				p.errs <- fmt.Errorf("http server: %w", err)
			}
		}()
	}

	// A connection of the runner's own, to watch consumers and dead letters.
	p.nc, err = nats.Connect(p.NATSURL, nats.Name("newsflow-runner"))
	if err != nil {
		return nil, fmt.Errorf("connect to nats: %w", err)
	}
	if p.js, err = jetstream.New(p.nc); err != nil {
		return nil, err
	}
	if _, err := p.nc.Subscribe(stage.SubjectDeadPrefix+">", p.recordDead); err != nil {
		return nil, fmt.Errorf("watch dead letters: %w", err)
	}

	runCtx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	newRuntime := func(name string) (*stage.Runtime, error) {
		rt, err := stage.New(ctx, o.Stage, stage.Options{Name: name, Telemetry: p.tel, Health: health, Mux: mux, Logger: o.Logger})
		if err != nil {
			return nil, err
		}
		p.rts = append(p.rts, rt)
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
		p.wg.Go(func() {
			if err := run(runCtx, rt); err != nil {
				p.errs <- fmt.Errorf("%s: %w", rt.Name(), err)
			}
		})
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

// Errors reports a stage or the HTTP server failing.
func (p *Pipeline) Errors() <-chan error { return p.errs }

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
// nothing awaiting an ack (retries included), seen twice in a row. Every
// article published before the call is then stored or dead-lettered.
func (p *Pipeline) WaitIdle(ctx context.Context) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	idleTicks := 0
	for idleTicks < 2 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-p.errs:
			return err
		case <-t.C:
		}
		if p.idle(ctx) {
			idleTicks++
		} else {
			idleTicks = 0
		}
	}
	return nil
}

func (p *Pipeline) idle(ctx context.Context) bool {
	for _, c := range stage.Consumers() {
		// Consumer fetches the consumer's info: no second request needed.
		cons, err := p.js.Consumer(ctx, stage.StreamFor(c.Input), c.Name)
		if err != nil {
			return false
		}
		if info := cons.CachedInfo(); info.NumPending > 0 || info.NumAckPending > 0 {
			return false
		}
	}
	// Dead letters are delivered to our subscription asynchronously.
	return p.nc.Flush() == nil
}

// Close stops the stages gracefully (finishing in-flight work), then the
// HTTP server and the embedded NATS server.
func (p *Pipeline) Close() error {
	if p.cancel != nil {
		p.cancel()
	}
	p.wg.Wait()
	// Each drain may take up to the shutdown timeout: run them together.
	errs := make([]error, len(p.rts))
	var wg sync.WaitGroup
	for i, rt := range p.rts {
		wg.Go(func() { errs[i] = rt.Close() })
	}
	wg.Wait()
	if p.nc != nil {
		p.nc.Close()
	}
	if p.stopHTTP != nil {
		p.stopHTTP()
	}
	if p.ns != nil {
		p.ns.Shutdown()
		p.ns.WaitForShutdown()
		_ = os.Remove(p.urlFile)
	}
	return errors.Join(errs...)
}
