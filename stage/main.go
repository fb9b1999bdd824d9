package stage

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

// Program describes one service binary; Main runs it.
type Program struct {
	// Name is the stage name (see Options.Name).
	Name string
	// HTTPAddr is the default of -http.
	HTTPAddr string
	// Flags registers the service's own flags.
	Flags func(fs *flag.FlagSet)
	// Validate checks the service's own flags (nil: nothing to check).
	Validate func() error
	// Run does the stage's work until ctx ends (usually by calling
	// Runtime.Consume) and returns after a graceful stop.
	Run func(ctx context.Context, rt *Runtime) error
}

// Main parses flags and environment, connects, serves /metrics, /healthz and
// /readyz, runs p until SIGINT or SIGTERM and shuts down in order. It returns
// the process exit code: 0 on a clean stop, 1 on a failure, 2 on bad
// configuration. It first gives the process its timer slack
// (SlackTimers).
func Main(p Program) int {
	SlackTimers()
	return run(context.Background(), p, os.Args[1:], os.Stderr)
}

// SignalContext returns a context that ends on SIGINT or SIGTERM. After the
// first signal, a second one kills at once (default handling) should the
// graceful shutdown hang.
func SignalContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx, stop
}

func run(ctx context.Context, p Program, args []string, stderr io.Writer) int {
	cfg := DefaultConfig()
	cfg.HTTPAddr = p.HTTPAddr
	fs := flag.NewFlagSet(p.Name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.RegisterFlags(fs)
	if p.Flags != nil {
		p.Flags(fs)
	}
	if err := ParseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected arguments: %v\n", p.Name, fs.Args())
		return 2
	}
	errs := []error{cfg.Validate()}
	if p.Validate != nil {
		errs = append(errs, p.Validate())
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(stderr, "%s: invalid configuration:\n%v\n", p.Name, err)
		return 2
	}
	log, err := NewLogger(stderr, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
		return 2
	}
	log = log.With("service", p.Name)

	ctx, stop := SignalContext(ctx)
	defer stop()
	g := NewGroup()
	if err := start(ctx, g, p, cfg, log); err != nil {
		_ = g.Close()
		if ctx.Err() != nil {
			return 0 // stopped while waiting for NATS
		}
		log.Error("start", "error", err)
		return 1
	}
	select {
	case <-ctx.Done():
	case <-g.Done():
	}
	closeErr := g.Close()
	code := 0
	if err := g.Err(); err != nil {
		log.Error("stopped with error", "error", err)
		code = 1
	}
	if closeErr != nil {
		log.Warn("close", "error", closeErr)
	}
	log.Info("stopped")
	return code
}

// start adds the program's parts to g: the HTTP server, the stage's NATS
// connection, and its work.
func start(ctx context.Context, g *Group, p Program, cfg Config, log *slog.Logger) error {
	tel, health := NewTelemetry(), NewHealth()
	var mux *http.ServeMux
	if cfg.HTTPAddr != "" {
		mux = Mux(tel.Registry, health, cfg.Pprof)
		addr, err := g.Serve(cfg.HTTPAddr, mux, cfg.ShutdownTimeout)
		if err != nil {
			return fmt.Errorf("http server: %w", err)
		}
		log.Info("serving http", "addr", addr)
	}
	rt, err := New(ctx, cfg, Options{Name: p.Name, Telemetry: tel, Health: health, Mux: mux, Logger: log})
	if err != nil {
		return err
	}
	g.Defer("nats", rt.Close)
	g.Go(p.Name, func(ctx context.Context) error { return p.Run(ctx, rt) })
	return nil
}
