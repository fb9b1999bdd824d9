package stage

import (
	"flag"
	"net"
	"time"
)

// Config is the runtime configuration shared by every stage.
type Config struct {
	// NATSURL is the NATS server (or comma-separated servers) to connect to.
	NATSURL string
	// NATSCreds is an optional NATS credentials file.
	NATSCreds string
	// HTTPAddr serves /metrics, /healthz and /readyz ("" disables it).
	HTTPAddr string
	// Pprof also serves Go's profiles under /debug/pprof/ on HTTPAddr.
	Pprof bool
	// Workers is how many messages a replica handles at once.
	Workers int
	// MaxDeliver bounds deliveries of one message; exhausting it dead-letters.
	MaxDeliver int
	// AckWait is how long the server waits for an ack before redelivering.
	AckWait time.Duration
	// RetryBase and RetryMax shape the growing nak delay for transient errors.
	RetryBase, RetryMax time.Duration
	// HandlerTimeout bounds one handler call.
	HandlerTimeout time.Duration
	// StreamReplicas is the replica count of streams this stage creates.
	StreamReplicas int
	// Retention is the maximum age of messages in the article streams.
	Retention time.Duration
	// DeadRetention is the maximum age of dead letters.
	DeadRetention time.Duration
	// StreamMaxBytes bounds each article stream's bytes (0: no bound); see
	// keepRoom for what happens when one fills.
	StreamMaxBytes ByteSize
	// DuplicateWindow is the streams' Nats-Msg-Id deduplication window.
	DuplicateWindow time.Duration
	// ShutdownTimeout bounds graceful shutdown.
	ShutdownTimeout time.Duration
	// LogFormat is "text", "json" or "auto" (text on a terminal).
	LogFormat string
	// LogLevel is debug, info, warn or error.
	LogLevel string
}

// DefaultConfig returns the defaults the flags start from.
func DefaultConfig() Config {
	return Config{
		NATSURL:         "nats://127.0.0.1:4222",
		Workers:         4,
		MaxDeliver:      6,
		AckWait:         10 * time.Second,
		RetryBase:       time.Second,
		RetryMax:        2 * time.Minute,
		HandlerTimeout:  30 * time.Second,
		StreamReplicas:  1,
		Retention:       7 * 24 * time.Hour,
		DeadRetention:   30 * 24 * time.Hour,
		DuplicateWindow: 10 * time.Minute,
		ShutdownTimeout: 25 * time.Second,
		LogFormat:       "auto",
		LogLevel:        "info",
	}
}

// RegisterFlags registers the runtime flags on fs, with c's current values as
// defaults (set c.HTTPAddr first for the service's default -http).
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.NATSURL, "nats", c.NATSURL, "NATS server `URL` (comma-separated for a cluster)")
	fs.StringVar(&c.NATSCreds, "nats-creds", c.NATSCreds, "NATS credentials `file` (optional)")
	fs.StringVar(&c.HTTPAddr, "http", c.HTTPAddr, "`address` for /metrics, /healthz and /readyz (empty: off)")
	fs.BoolVar(&c.Pprof, "pprof", c.Pprof, "also serve Go's profiles (CPU, heap, goroutines) under /debug/pprof/ on the -http address; off by default, as a profile shows the process's internals and costs CPU while it is taken")
	fs.IntVar(&c.Workers, "workers", c.Workers, "messages handled concurrently by this replica")
	fs.IntVar(&c.MaxDeliver, "max-deliver", c.MaxDeliver, "deliveries of one message before it is dead-lettered")
	fs.DurationVar(&c.AckWait, "ack-wait", c.AckWait, "time the server waits for an ack before redelivering; work in progress is kept alive every third of it, so this is how soon a crashed replica's messages go to another")
	fs.DurationVar(&c.RetryBase, "retry-base", c.RetryBase, "first nak delay after a transient error (doubles per delivery)")
	fs.DurationVar(&c.RetryMax, "retry-max", c.RetryMax, "largest nak delay")
	fs.DurationVar(&c.HandlerTimeout, "handler-timeout", c.HandlerTimeout, "time limit for handling one message")
	fs.IntVar(&c.StreamReplicas, "stream-replicas", c.StreamReplicas, "replicas of the streams this stage creates (3 on a cluster)")
	fs.DurationVar(&c.Retention, "retention", c.Retention, "maximum age of messages in the article streams (raw pages are kept this long for replay)")
	fs.Var(&c.StreamMaxBytes, "stream-max-bytes", "bytes each article stream may hold, e.g. 6G or 6GiB, as nats.conf reads sizes (0: no bound but -retention and the server's storage); a full stream refuses new articles, which wait upstream, and the stage reading it trims replay history it has processed, never work not yet done")
	fs.DurationVar(&c.DeadRetention, "dead-retention", c.DeadRetention, "maximum age of dead letters")
	fs.DurationVar(&c.DuplicateWindow, "duplicate-window", c.DuplicateWindow, "window in which a re-published message (same Nats-Msg-Id) is dropped")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "time allowed for graceful shutdown")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: text, json or auto (text on a terminal)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn or error")
}

// Validate reports every problem with c at once, each naming its flag.
func (c Config) Validate() error {
	var p Problems
	bad := p.Add
	if c.NATSURL == "" {
		bad("nats", "must not be empty")
	}
	if c.HTTPAddr != "" {
		if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
			bad("http", "%q is not host:port", c.HTTPAddr)
		}
	}
	if c.Pprof && c.HTTPAddr == "" {
		bad("pprof", "needs an -http address to serve on")
	}
	if c.Workers < 1 || c.Workers > 1024 {
		bad("workers", "must be between 1 and 1024, got %d", c.Workers)
	}
	if c.MaxDeliver < 1 {
		bad("max-deliver", "must be at least 1, got %d", c.MaxDeliver)
	}
	if c.AckWait < time.Second {
		bad("ack-wait", "must be at least 1s, got %s", c.AckWait)
	}
	if c.RetryBase <= 0 {
		bad("retry-base", "must be positive, got %s", c.RetryBase)
	}
	if c.RetryMax < c.RetryBase {
		bad("retry-max", "must not be below -retry-base (%s), got %s", c.RetryBase, c.RetryMax)
	}
	if c.HandlerTimeout <= 0 {
		bad("handler-timeout", "must be positive, got %s", c.HandlerTimeout)
	}
	if c.StreamReplicas < 1 || c.StreamReplicas > 5 {
		bad("stream-replicas", "must be between 1 and 5, got %d", c.StreamReplicas)
	}
	if c.Retention <= 0 {
		bad("retention", "must be positive, got %s", c.Retention)
	}
	if c.StreamMaxBytes != 0 && c.StreamMaxBytes < 1e6 {
		bad("stream-max-bytes", "must be 0 (no bound) or at least 1M, got %d", c.StreamMaxBytes)
	}
	if c.DeadRetention <= 0 {
		bad("dead-retention", "must be positive, got %s", c.DeadRetention)
	}
	if c.DuplicateWindow <= 0 || c.DuplicateWindow > c.Retention {
		bad("duplicate-window", "must be positive and at most -retention, got %s", c.DuplicateWindow)
	} else if c.DuplicateWindow < c.AckWait+c.RetryMax {
		// A retry may re-publish an output stored just before a failure up
		// to an ack wait plus the longest nak delay later.
		bad("duplicate-window", "must be at least -ack-wait plus -retry-max (%s), got %s", c.AckWait+c.RetryMax, c.DuplicateWindow)
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown-timeout", "must be positive, got %s", c.ShutdownTimeout)
	}
	switch c.LogFormat {
	case "text", "json", "auto":
	default:
		bad("log-format", "must be text, json or auto, got %q", c.LogFormat)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		bad("log-level", "%v", err)
	}
	return p.Err()
}
