package stage

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
)

// Outcomes of one message, the values of the outcome label.
const (
	OutcomeOK           = "ok"
	OutcomeRetried      = "retried"
	OutcomeDeadLettered = "dead_lettered"
	OutcomeDuplicate    = "duplicate"
)

// Telemetry holds the Prometheus registry and the metrics common to every
// stage, labelled by stage. One Telemetry serves one process: the all-in-one
// runner shares it between its stages, so each metric is registered once.
type Telemetry struct {
	Registry *prometheus.Registry

	messages      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	batch         *prometheus.HistogramVec
	inFlight      *prometheus.GaugeVec
	pending       *prometheus.GaugeVec
	ackPending    *prometheus.GaugeVec
	deadLetters   *prometheus.CounterVec
	published     *prometheus.CounterVec
	publishErrors *prometheus.CounterVec
	publishTime   *prometheus.HistogramVec
	ready         *prometheus.GaugeVec
	held          *prometheus.CounterVec
	versionInfo   *prometheus.GaugeVec

	streamBytes    *prometheus.GaugeVec
	streamMaxBytes *prometheus.GaugeVec
	trimmed        *prometheus.CounterVec
}

// Version is the version newsflow_build_info reports; release builds set it
// with -ldflags "-X github.com/newsflow/newsflow/stage.Version=…". When it
// is left at "dev", the main module's version from the build info is used
// if there is one.
var Version = "dev"

// Stamp names what makes a stage's output: the build (its version, and its
// VCS revision, which tells development builds apart) and a digest of parts,
// the rules, model and settings that change what the stage makes. It reads
// like "v1.4.0+3fa2c1d0". Processes with one build and the same parts have
// one stamp; the stage puts it on its trace spans (SetVersion) and the sink
// stores it with the article, so a replay can pick what older rules made.
func Stamp(parts ...[]byte) string {
	version, revision, _ := buildInfo()
	h := sha256.New()
	for _, p := range append([][]byte{[]byte(version), []byte(revision)}, parts...) {
		fmt.Fprintf(h, "%d:", len(p)) // length-prefixed: no two lists share a digest
		h.Write(p)
	}
	return version + "+" + hex.EncodeToString(h.Sum(nil))[:8]
}

// buildInfo returns the version, the VCS revision ("unknown" when the
// binary was built without VCS stamping) and the Go version.
func buildInfo() (version, revision, goVersion string) {
	version, revision, goVersion = Version, "unknown", runtime.Version()
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	if version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && s.Value != "" {
			revision = s.Value
		}
	}
	return
}

// consuming creates the series of a consuming stage at zero, so that a
// fresh pod shows 0 and not "no data" until its first message.
func (t *Telemetry) consuming(stage string) {
	for _, o := range []string{OutcomeOK, OutcomeRetried, OutcomeDeadLettered, OutcomeDuplicate} {
		t.messages.WithLabelValues(stage, o)
	}
	t.duration.WithLabelValues(stage)
	t.inFlight.WithLabelValues(stage)
	t.pending.WithLabelValues(stage)
	t.ackPending.WithLabelValues(stage)
	t.ready.WithLabelValues(stage)
	t.held.WithLabelValues(stage)
}

// publishing creates the series of a publishing stage at zero.
func (t *Telemetry) publishing(stage string) {
	t.published.WithLabelValues(stage, "false")
	t.published.WithLabelValues(stage, "true")
	t.publishErrors.WithLabelValues(stage)
	t.publishTime.WithLabelValues(stage)
}

// NewTelemetry creates a registry with the Go and process collectors and the
// common stage metrics.
func NewTelemetry() *Telemetry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	t := &Telemetry{
		Registry: reg,
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "newsflow", Name: "messages_total",
			Help: "Messages handled by a stage, by outcome (ok, retried, dead_lettered, duplicate).",
		}, []string{"stage", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "newsflow", Name: "processing_duration_seconds",
			Help:    "Time to handle one message, publish its output and ack it.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"stage"}),
		batch: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "newsflow", Name: "batch_messages",
			Help:    "Messages a batch stage handled together (the sink: one store transaction).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11),
		}, []string{"stage"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "newsflow", Name: "messages_in_flight",
			Help: "Messages a stage is handling right now.",
		}, []string{"stage"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "newsflow", Name: "consumer_pending_messages",
			Help: "Messages in the stage's stream not yet delivered to its durable consumer (lag), read from JetStream.",
		}, []string{"stage"}),
		ackPending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "newsflow", Name: "consumer_ack_pending_messages",
			Help: "Messages delivered to the stage's consumer and not yet acked, read from JetStream.",
		}, []string{"stage"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "newsflow", Name: "dead_letters_total",
			Help: "Messages a stage sent to its dead-letter subject, by reason.",
		}, []string{"stage", "reason"}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "newsflow", Name: "published_total",
			Help: "Messages a stage published to its output subject; duplicate=true when JetStream dropped a re-publish.",
		}, []string{"stage", "duplicate"}),
		publishErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "newsflow", Name: "publish_errors_total",
			Help: "Publishes to JetStream that failed (the input message is retried).",
		}, []string{"stage"}),
		publishTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "newsflow", Name: "publish_duration_seconds",
			Help:    "Time from a publish of a stage's output to JetStream's acknowledgement (failed publishes included): the wait every message's handling holds.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}, []string{"stage"}),
		ready: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "newsflow", Name: "stage_ready",
			Help: "1 when the stage is connected and consuming, else 0.",
		}, []string{"stage"}),
		held: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "newsflow", Name: "held_retries_total",
			Help: "Waits before trying held messages again while a dependency (store, NATS) was unavailable; the messages keep their delivery budget.",
		}, []string{"stage"}),
	}
	f(t.messages)
	f(t.duration)
	f(t.batch)
	f(t.inFlight)
	f(t.pending)
	f(t.ackPending)
	f(t.deadLetters)
	f(t.published)
	f(t.publishErrors)
	f(t.publishTime)
	f(t.ready)
	f(t.held)
	t.versionInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "newsflow", Name: "stage_version_info",
		Help: "Always 1; version is the stamp of what makes the stage's output (build, rules, model), stored with every article it makes.",
	}, []string{"stage", "version"})
	f(t.versionInfo)
	t.streamBytes = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "newsflow", Name: "stream_bytes",
		Help: "Bytes a stage's input stream holds, read from JetStream by the stage consuming it (aggregate with max).",
	}, []string{"stream"})
	t.streamMaxBytes = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "newsflow", Name: "stream_max_bytes",
		Help: "Byte limit of a stage's input stream (-stream-max-bytes; 0: none). A full stream refuses new messages and its publishers wait.",
	}, []string{"stream"})
	t.trimmed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "newsflow", Name: "stream_history_trimmed_total",
		Help: "Settled messages removed from a byte-bounded stream's replay history, oldest first, to keep room for new work.",
	}, []string{"stream"})
	f(t.streamBytes)
	f(t.streamMaxBytes)
	f(t.trimmed)
	version, revision, goVersion := buildInfo()
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "newsflow", Name: "build_info",
		Help: "Always 1; the labels say which build of newsflow the process runs.",
	}, []string{"version", "revision", "goversion"})
	info.WithLabelValues(version, revision, goVersion).Set(1)
	f(info)
	return t
}

// MessageCount returns how many messages stage handled with outcome; the
// all-in-one runner reads it for progress lines and its summary.
func (t *Telemetry) MessageCount(stage, outcome string) float64 {
	return counterValue(t.messages.WithLabelValues(stage, outcome))
}

// PublishedCount returns how many new (non-duplicate) messages stage published.
func (t *Telemetry) PublishedCount(stage string) float64 {
	return counterValue(t.published.WithLabelValues(stage, "false"))
}

// PublishedDuplicateCount returns how many of stage's publishes JetStream
// dropped as duplicates.
func (t *Telemetry) PublishedDuplicateCount(stage string) float64 {
	return counterValue(t.published.WithLabelValues(stage, "true"))
}

// CounterValues gathers the counter family name from the registry and sums
// it by the value of label.
func (t *Telemetry) CounterValues(name, label string) map[string]float64 {
	out := map[string]float64{}
	families, err := t.Registry.Gather()
	if err != nil {
		return out
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label {
					out[l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

// GaugeSum gathers the gauge family name from the registry and sums it
// over its series (0 when there is none).
func (t *Telemetry) GaugeSum(name string) float64 {
	families, err := t.Registry.Gather()
	if err != nil {
		return 0
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() == name {
			for _, m := range f.GetMetric() {
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}

// Register registers a service's metrics on reg (nil: none, for tests and
// tools), naming the first that fails: each service's newMetrics uses it.
func Register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	if reg == nil {
		return nil
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register metrics: %w", err)
		}
	}
	return nil
}
