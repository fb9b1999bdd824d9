package stage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Options are what a process gives each stage it runs.
type Options struct {
	// Name is the stage: the durable consumer's name, the stage label on
	// metrics and the suffix of the dead-letter subject.
	Name string
	// Telemetry and Health are shared by all stages of one process.
	Telemetry *Telemetry
	Health    *Health
	// Mux, when set, is the process's HTTP mux; services add routes to it.
	Mux    *http.ServeMux
	Logger *slog.Logger
}

// Runtime is one stage's connection to the pipeline.
type Runtime struct {
	cfg    Config
	name   string
	nc     *nats.Conn
	js     jetstream.JetStream
	tel    *Telemetry
	health *Health
	mux    *http.ServeMux
	log    *slog.Logger
	dead   *Publisher
	crash  *failpoint
	avail  *availability
	// reconnected fires when the NATS connection is back after a loss,
	// disconnected when it is lost (nats.go calls its handlers in order,
	// on its own goroutine, so either may fire late).
	reconnected, disconnected *broadcast
	// version is the stamp put on the stage's trace spans (SetVersion).
	version string
	// watchEvery is how often watchLag looks (0: lagInterval); tests
	// shorten it.
	watchEvery time.Duration
}

// New connects the stage to NATS (waiting for the server until ctx ends, so
// pods may start before NATS is up) and makes sure the dead-letter stream exists.
func New(ctx context.Context, cfg Config, opts Options) (*Runtime, error) {
	if opts.Name == "" {
		return nil, errors.New("stage: Options.Name is required")
	}
	if opts.Telemetry == nil {
		opts.Telemetry = NewTelemetry()
	}
	if opts.Health == nil {
		opts.Health = NewHealth()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	log := opts.Logger.With("stage", opts.Name)
	crash, err := parseFailpoint(os.Getenv(EnvFailpoint))
	if err != nil {
		return nil, err
	}
	reconnected, disconnected := newBroadcast(), newBroadcast()
	natsOpts := []nats.Option{
		nats.Name("newsflow-" + opts.Name),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "error", err)
			}
			disconnected.fire()
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", "server", nc.ConnectedUrlRedacted())
			reconnected.fire()
		}),
		// Asynchronous errors (a slow consumer, a watcher whose consumer
		// went away with a restarted server) go to the stage's log, not
		// as nats.go's bare lines on stderr, which a JSON log pipeline
		// cannot parse.
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Warn("nats asynchronous error", "subject", subject, "error", err)
		}),
	}
	if cfg.NATSCreds != "" {
		natsOpts = append(natsOpts, nats.UserCredentials(cfg.NATSCreds))
	}
	nc, err := nats.Connect(cfg.NATSURL, natsOpts...)
	if err != nil {
		return nil, fmt.Errorf("connect to nats %s: %w", cfg.NATSURL, err)
	}
	if err := waitConnected(ctx, nc); err != nil {
		nc.Close()
		return nil, fmt.Errorf("connect to nats %s: %w", cfg.NATSURL, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	r := &Runtime{cfg: cfg, name: opts.Name, nc: nc, js: js, tel: opts.Telemetry, health: opts.Health, mux: opts.Mux, log: log, crash: crash, avail: newAvailability(), reconnected: reconnected, disconnected: disconnected}
	r.dead, err = r.Publisher(ctx, SubjectDeadPrefix+opts.Name)
	if err != nil {
		nc.Close()
		return nil, err
	}
	r.dead.dead = true
	r.health.Add(opts.Name+"/nats", func(context.Context) error {
		if !nc.IsConnected() {
			return fmt.Errorf("nats %s", nc.Status())
		}
		return nil
	})
	log.Info("connected to nats", "server", nc.ConnectedUrlRedacted())
	return r, nil
}

func waitConnected(ctx context.Context, nc *nats.Conn) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for !nc.IsConnected() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("no server reachable: %w", ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// Name is the stage's name.
func (r *Runtime) Name() string { return r.name }

// SetVersion sets the stamp (see Stamp) of what makes the stage's output:
// it goes on the trace span of every article the stage publishes, and into
// newsflow_stage_version_info. Call it before Consume.
func (r *Runtime) SetVersion(v string) {
	r.version = v
	r.tel.versionInfo.DeletePartialMatch(prometheus.Labels{"stage": r.name})
	r.tel.versionInfo.WithLabelValues(r.name, v).Set(1)
	r.log.Info("stage version", "version", v)
}

// Config is the runtime configuration the stage was started with.
func (r *Runtime) Config() Config { return r.cfg }

// Conn is the stage's own NATS connection.
func (r *Runtime) Conn() *nats.Conn { return r.nc }

// JetStream is the stage's JetStream context (key-value buckets, streams).
func (r *Runtime) JetStream() jetstream.JetStream { return r.js }

// Logger logs with the stage attribute set.
func (r *Runtime) Logger() *slog.Logger { return r.log }

// Telemetry is the process's metrics registry and common metrics.
func (r *Runtime) Telemetry() *Telemetry { return r.tel }

// Health is the process's readiness checks.
func (r *Runtime) Health() *Health { return r.health }

// Handle adds an HTTP route to the process's mux (no-op without one).
func (r *Runtime) Handle(pattern string, h http.Handler) {
	if r.mux == nil {
		r.log.Warn("no http server: route not served", "pattern", pattern)
		return
	}
	r.mux.Handle(pattern, h)
}

// Close drains the NATS connection: pending publishes and acks are flushed.
func (r *Runtime) Close() error {
	if r.nc.IsClosed() {
		return nil
	}
	done := make(chan struct{})
	r.nc.SetClosedHandler(func(*nats.Conn) { close(done) })
	if err := r.nc.Drain(); err != nil {
		r.nc.Close()
		return fmt.Errorf("drain nats: %w", err)
	}
	select {
	case <-done:
	case <-time.After(r.cfg.ShutdownTimeout):
		r.nc.Close()
		return errors.New("drain nats: timed out")
	}
	return nil
}
