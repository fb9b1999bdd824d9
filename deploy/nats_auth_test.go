package deploy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/newsflow/newsflow/cmd/newsflow/samplesite"
	"github.com/newsflow/newsflow/services/fetcher/fetcher"
	"github.com/newsflow/newsflow/services/normalizer/extract"
	"github.com/newsflow/newsflow/services/normalizer/normalizer"
	"github.com/newsflow/newsflow/stage"
)

// violations records the permission violations a NATS server logs
// ("Publish Violation", "Subscription Violation").
type violations struct {
	mu    sync.Mutex
	lines []string
}

func (v *violations) record(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	if strings.Contains(line, "Violation") {
		v.mu.Lock()
		v.lines = append(v.lines, line)
		v.mu.Unlock()
	}
}

func (v *violations) list() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.lines...)
}

func (v *violations) Noticef(format string, args ...any) { v.record(format, args...) }
func (v *violations) Warnf(format string, args ...any)   { v.record(format, args...) }
func (v *violations) Fatalf(format string, args ...any)  { v.record(format, args...) }
func (v *violations) Errorf(format string, args ...any)  { v.record(format, args...) }
func (v *violations) Debugf(format string, args ...any)  { v.record(format, args...) }
func (v *violations) Tracef(format string, args ...any)  { v.record(format, args...) }

// startNATS runs a real NATS server with deploy/k8s/nats/nats.conf (one
// server: its cluster.conf is empty) on a loopback port, the users'
// passwords set as the pods' environment sets them.
func startNATS(t *testing.T) (*server.Server, *violations, map[string]string) {
	t.Helper()
	opts, passwords := natsOptions(t)
	opts.Host, opts.Port = "127.0.0.1", -1
	opts.HTTPPort = 0
	opts.PidFile = ""
	opts.StoreDir = t.TempDir()
	s, err := server.NewServer(opts)
	require.NoError(t, err)
	v := &violations{}
	s.SetLoggerV2(v, false, false, false)
	go s.Start()
	require.True(t, s.ReadyForConnections(10*time.Second))
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s, v, passwords
}

// natsOptions reads deploy/k8s/nats/nats.conf as the server would, with the
// users' passwords set as the pods' environment sets them.
func natsOptions(t *testing.T) (*server.Options, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"nats.conf", "cluster.conf"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte(readFile(t, filepath.Join("k8s/nats", f))), 0o644))
	}
	passwords := map[string]string{}
	for _, user := range []string{"fetcher", "normalizer", "tagger", "sink", "ops", "sys"} {
		passwords[user] = "pw-" + user
		t.Setenv("NEWSFLOW_"+strings.ToUpper(user)+"_PASSWORD", passwords[user])
	}
	t.Setenv("POD_NAME", "nats-0")
	opts, err := server.ProcessConfigFile(filepath.Join(dir, "nats.conf"))
	require.NoError(t, err)
	return opts, passwords
}

func userURL(s *server.Server, user, password string) string {
	return strings.Replace(s.ClientURL(), "nats://", "nats://"+user+":"+password+"@", 1)
}

// TestNATSPermissions runs the real stages, each as its own NATS user of
// deploy/k8s/nats/nats.conf, over the sample site and a poison page: the
// pipeline stores every article and dead-letters the poison page without a
// single permission violation. Then each user tries what it must not do.
func TestNATSPermissions(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	s, v, pw := startNATS(t)
	site, err := samplesite.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { site.Close() })

	feeds := []string{samplesite.FeedURL(site.URL), poisonFeed(t)}
	// Streams of 80 KiB, less than the sample site's pages at every stage:
	// each stage trims its input's settled history (and the fetcher waits
	// for room) under its permissions.
	st := startStages(t, func(name string) string { return userURL(s, name, pw[name]) }, feeds, 80<<10)
	published := st.ingest(t)
	require.Equal(t, float64(1), st.tel.MessageCount(normalizer.Name, stage.OutcomeDeadLettered))
	require.Equal(t, float64(published-1), st.tel.MessageCount("sink", stage.OutcomeOK))
	// Every message was acked: nothing pending on any stage's consumer.
	ops, err := nats.Connect(userURL(s, "ops", pw["ops"]))
	require.NoError(t, err)
	defer ops.Close()
	js, err := jetstream.New(ops)
	require.NoError(t, err)
	for name, in := range stageInputs {
		require.Eventually(t, func() bool {
			c, err := js.Consumer(context.Background(), stage.StreamFor(in), name)
			if err != nil {
				return false
			}
			info, err := c.Info(context.Background())
			return err == nil && info.NumPending == 0 && info.NumAckPending == 0
		}, 10*time.Second, 50*time.Millisecond, "%s: messages left unacked", name)
	}
	// The stages read their consumer's lag (every 5 s) for their metrics.
	require.Eventually(t, func() bool {
		return len(seriesOf(t, st.tel.Registry, "newsflow_consumer_pending_messages")) == len(stageInputs)
	}, 15*time.Second, 100*time.Millisecond, "consumer lag not read")
	// A restarted fetcher opens the existing seen-set and skips every item.
	cfg := stage.DefaultConfig()
	cfg.NATSURL = userURL(s, "fetcher", pw["fetcher"])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rt, err := stage.New(ctx, cfg, stage.Options{Name: "fetcher", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	defer rt.Close()
	again, err := fetcher.Start(ctx, rt, fetcherOptions(t, feeds))
	require.NoError(t, err)
	stats, err := again.Once(ctx)
	require.NoError(t, err)
	require.Zero(t, stats.Published)
	// The feed registry kept the sample feed's validators (a 304), and the
	// poison feed's item is skipped as seen.
	require.Equal(t, 1, stats.FeedsNotModified)
	require.Positive(t, stats.ItemsSeen)
	require.Equal(t, stats.ItemsSeen, stats.SkippedSeen)
	// Running continuously, the fetcher watches the registry and leases a
	// newly added feed (compare-and-set on its key) before polling it: its
	// empty page reaches the normalizer and is dead-lettered there.
	rt2, err := stage.New(ctx, cfg, stage.Options{Name: "fetcher", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	defer rt2.Close()
	more, err := fetcher.Start(ctx, rt2, fetcherOptions(t, append(feeds, poisonFeed(t))))
	require.NoError(t, err)
	runCtx, stopRun := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- more.Run(runCtx) }()
	require.Eventually(t, func() bool {
		return st.tel.MessageCount(normalizer.Name, stage.OutcomeDeadLettered) == 2
	}, 30*time.Second, 50*time.Millisecond, "the leased feed was not polled")
	stopRun()
	require.NoError(t, <-ran)
	// Closing drains the connection: what the stopped fetcher sent on its
	// way out (its registry watch's consumer delete) has reached the server.
	require.NoError(t, rt2.Close())
	require.NoError(t, rt.Close())
	require.Empty(t, v.list(), "the stages needed a permission they lack")
	for _, in := range stageInputs {
		require.Positive(t, st.tel.CounterValues("newsflow_stream_history_trimmed_total", "stream")[stage.StreamFor(in)], "%s: history not trimmed", in)
	}

	// What no stage may do: publish to another stage's subjects, read a
	// subject directly, touch another stage's consumer, delete a stream.
	forbidden := func(user string) []string {
		subjects := []string{
			"$JS.API.STREAM.DELETE.ARTICLES_FETCHED",
			"$JS.API.STREAM.PURGE.ARTICLES_DEAD",
			"$JS.API.CONSUMER.DELETE.ARTICLES_NORMALIZED.tagger",
			"$JS.API.STREAM.CREATE.OTHER",
			"$KV.other_bucket.key",
			"$JS.API.STREAM.DELETE.TAGGER_STORIES",
			"$JS.API.STREAM.PURGE.TAGGER_STORIES",
			"$JS.API.STREAM.DELETE.KV_newsflow_feeds",
			"$JS.API.STREAM.PURGE.KV_newsflow_feeds",
			"$JS.API.CONSUMER.DELETE.ARTICLES_DEAD.sink-dead-letters",
			"$JS.API.CONSUMER.CREATE.ARTICLES_DEAD.other.articles.dead.>",
		}
		// Resources of one stage only: the fetcher's feed registry, the
		// tagger's story stream, the sink's dead-letter consumer.
		owned := map[string][]string{
			"fetcher": {
				"$KV.newsflow_feeds.k",
				"$JS.API.DIRECT.GET.KV_newsflow_feeds.$KV.newsflow_feeds.k",
				"$JS.API.STREAM.UPDATE.KV_newsflow_feeds",
				"$JS.API.CONSUMER.CREATE.KV_newsflow_feeds.x.$KV.newsflow_feeds.>",
			},
			"tagger": {
				"newsflow.tagger.stories",
				"$JS.API.STREAM.UPDATE.TAGGER_STORIES",
				"$JS.API.CONSUMER.CREATE.TAGGER_STORIES.x",
				"$JS.API.CONSUMER.MSG.NEXT.TAGGER_STORIES.x",
			},
			"sink": {
				"$JS.API.CONSUMER.CREATE.ARTICLES_DEAD.sink-dead-letters.articles.dead.>",
				"$JS.API.CONSUMER.MSG.NEXT.ARTICLES_DEAD.sink-dead-letters",
				"$JS.ACK.ARTICLES_DEAD.sink-dead-letters.1.1.1.1.0",
			},
		}
		for owner, subs := range owned {
			if owner != user {
				subjects = append(subjects, subs...)
			}
		}
		// The tagger's consumer rights hold for its story stream only.
		if user == "tagger" {
			subjects = append(subjects, "$JS.API.CONSUMER.CREATE.ARTICLES_DEAD.x")
		}
		for _, other := range []string{"fetcher", "normalizer", "tagger", "sink"} {
			if other == user {
				continue
			}
			subjects = append(subjects, stage.SubjectDeadPrefix+other)
			if in, ok := stageInputs[other]; ok {
				// A stage bounds and trims its own input stream only.
				subjects = append(subjects,
					"$JS.API.STREAM.UPDATE."+stage.StreamFor(in),
					"$JS.API.STREAM.PURGE."+stage.StreamFor(in),
					fmt.Sprintf("$JS.API.CONSUMER.CREATE.%s.%s.%s", stage.StreamFor(in), other, in),
					fmt.Sprintf("$JS.API.CONSUMER.MSG.NEXT.%s.%s", stage.StreamFor(in), other),
					fmt.Sprintf("$JS.ACK.%s.%s.1.1.1.1.0", stage.StreamFor(in), other))
			}
		}
		outputs := map[string]string{"fetcher": stage.SubjectFetched, "normalizer": stage.SubjectNormalized, "tagger": stage.SubjectTagged}
		for other, out := range outputs {
			// The tagger sends articles whose story link went stale
			// through itself again, on its input subject.
			if other != user && (user != "tagger" || out != stage.SubjectNormalized) {
				subjects = append(subjects, out)
			}
		}
		return subjects
	}
	for _, user := range stages {
		errs := make(chan error, 64)
		nc, err := nats.Connect(userURL(s, user, pw[user]), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err }))
		require.NoError(t, err, user)
		for _, subj := range forbidden(user) {
			require.NoError(t, nc.Publish(subj, []byte("{}")))
			require.NoError(t, nc.Flush())
			select {
			case err := <-errs:
				require.ErrorContains(t, err, "Permissions Violation for Publish to \""+subj+"\"", user)
			case <-time.After(5 * time.Second):
				t.Fatalf("%s may publish to %s", user, subj)
			}
		}
		// Reading the pipeline's subjects directly is refused too.
		_, err = nc.SubscribeSync("articles.>")
		require.NoError(t, err)
		require.NoError(t, nc.Flush())
		select {
		case err := <-errs:
			require.ErrorContains(t, err, "Permissions Violation for Subscription to \"articles.>\"", user)
		case <-time.After(5 * time.Second):
			t.Fatalf("%s may subscribe to articles.>", user)
		}
		nc.Close()
	}
}

// seriesOf returns the series of the metric name reg holds.
func seriesOf(t *testing.T, reg *prometheus.Registry, name string) []string {
	families, err := reg.Gather()
	require.NoError(t, err)
	var out []string
	for _, f := range families {
		if f.GetName() == name {
			for _, m := range f.GetMetric() {
				out = append(out, m.String())
			}
		}
	}
	return out
}

// TestNATSRollsSafely: the NATS StatefulSet restarts one server at a time
// only once the last one has caught up (a startup probe on the full
// /healthz, as the NATS Helm chart does), its lame duck ends inside the
// pod's grace period, it spreads over zones, and its exporter labels each
// server by its own id.
func TestNATSRollsSafely(t *testing.T) {
	opts, _ := natsOptions(t)
	require.GreaterOrEqual(t, int64(opts.MaxPayload), int64(extract.DefaultMaxBytes), "a NATS message holds the largest page the normalizer accepts")
	for dir := range overlays {
		r := build(t, dir)
		o, ok := r.find("StatefulSet", "nats")
		require.True(t, ok, dir)
		pod := o.obj.(*appsv1.StatefulSet).Spec.Template.Spec
		grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
		require.Less(t, opts.LameDuckGracePeriod+opts.LameDuckDuration, grace-10*time.Second,
			"%s: lame duck (%s + %s) must end well inside the grace period %s", dir, opts.LameDuckGracePeriod, opts.LameDuckDuration, grace)
		zones := false
		for _, c := range pod.TopologySpreadConstraints {
			zones = zones || c.TopologyKey == "topology.kubernetes.io/zone"
		}
		require.True(t, zones, "%s: NATS spreads over zones", dir)
		for _, c := range pod.Containers {
			switch c.Name {
			case "nats":
				require.NotNil(t, c.StartupProbe, dir)
				require.Equal(t, "/healthz", c.StartupProbe.HTTPGet.Path, "%s: the startup probe is the full health check", dir)
				require.Equal(t, "/healthz?js-server-only=true", c.ReadinessProbe.HTTPGet.Path, dir)
			case "exporter":
				require.Contains(t, c.Args, "-use_internal_server_id", dir)
			}
		}
	}
}
