package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/newsflow/newsflow/cmd/newsflow/pipeline"
	"github.com/newsflow/newsflow/cmd/newsflow/samplesite"
	"github.com/newsflow/newsflow/services/normalizer/normalizer"
	"github.com/newsflow/newsflow/services/sink/sink"
	"github.com/newsflow/newsflow/stage"
)

// tool returns the path of a command the test needs. Missing, the test is
// skipped, unless NEWSFLOW_REQUIRE_TOOLS is set (as ./test.sh sets it,
// after installing them), when it fails.
func tool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("NEWSFLOW_REQUIRE_TOOLS") != "" {
			t.Fatalf("%s not found (Debian package prometheus): %v", name, err)
		}
		t.Skipf("%s not found (apt-get install prometheus)", name)
	}
	return path
}

func promtool(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(tool(t, "promtool"), args...).CombinedOutput()
	require.NoError(t, err, "promtool %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

// TestPromtool checks the rule files and the scrape configurations and runs
// the alerts' unit tests, each with promtool.
func TestPromtool(t *testing.T) {
	out := promtool(t, "check", "rules", "prometheus/rules/recording.yml", "prometheus/rules/alerts.yml")
	require.Contains(t, out, "SUCCESS")
	// Debian's promtool has no Kubernetes service discovery: the
	// Kubernetes configuration is checked with its discovery swapped for a
	// static target; its relabelling is run by TestScrapeRelabelling.
	k8sConf := regexp.MustCompile(`(?m)^    kubernetes_sd_configs:\n(      .*\n)+`).ReplaceAllString(readFile(t, "prometheus/prometheus.yml"),
		"    static_configs: [{targets: [\"127.0.0.1:1\"]}]\n")
	require.NotContains(t, k8sConf, "kubernetes_sd_configs")
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "rules"), 0o755))
	for _, f := range []string{"rules/recording.yml", "rules/alerts.yml"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte(readFile(t, "prometheus/"+f)), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(k8sConf), 0o644))
	promtool(t, "check", "config", filepath.Join(dir, "prometheus.yml"))
	promtool(t, "check", "config", "prometheus/local/prometheus.yml")
	out = promtool(t, "test", "rules", "prometheus/tests/alerts_test.yml")
	require.Contains(t, out, "SUCCESS")
	t.Log(strings.TrimSpace(promtool(t, "--version")))

	// Every alert has a unit test and a runbook section.
	tests := readFile(t, "prometheus/tests/alerts_test.yml")
	runbooks := strings.ToLower(readFile(t, "README.md"))
	for _, q := range ruleQueries(t) {
		if !strings.Contains(q.where, "alerts.yml") {
			continue
		}
		require.Contains(t, tests, "alertname: "+q.rule, "alert %s has no unit test", q.rule)
	}
	for _, anchor := range regexp.MustCompile(`runbook_url: https://github.com/newsflow/newsflow/blob/main/deploy/README.md#(\S+)`).FindAllStringSubmatch(readFile(t, "prometheus/rules/alerts.yml"), -1) {
		require.Contains(t, runbooks, "\n### "+anchor[1]+"\n", "no runbook section for %s", anchor[1])
	}
}

// registeredMetrics returns every metric name reg has a collector for,
// with its type where a gather shows one.
func registeredMetrics(t *testing.T, reg *prometheus.Registry) map[string]string {
	out := map[string]string{}
	descs := make(chan *prometheus.Desc)
	go func() {
		reg.Describe(descs)
		close(descs)
	}()
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range descs {
		m := fqName.FindStringSubmatch(d.String())
		require.NotNil(t, m, d.String())
		out[m[1]] = ""
	}
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		out[f.GetName()] = f.GetType().String()
	}
	return out
}

// TestDashboardsAgainstPrometheus runs the all-in-one pipeline over the
// sample site and a poison page, has a real Prometheus scrape it with the
// repository's local configuration and rules, and evaluates every panel
// query and recorded series through Prometheus's HTTP API. Every panel of
// the overview dashboard must return data; the other dashboards' results
// are reported (some use NATS exporter metrics, which do not run here).
func TestDashboardsAgainstPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline and Prometheus")
	}
	bin := tool(t, "prometheus")
	site, err := samplesite.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { site.Close() })

	data := t.TempDir()
	cfg := stage.DefaultConfig()
	cfg.LogLevel = "error"
	fo := fetcherOptions(t, []string{samplesite.FeedURL(site.URL), poisonFeed(t)})
	p, err := pipeline.Start(context.Background(), pipeline.Options{
		DataDir:    data,
		HTTPAddr:   "127.0.0.1:0",
		Stage:      cfg,
		Fetcher:    fo,
		Normalizer: normalizer.DefaultConfig(),
		Sink:       sink.Config{Store: "sqlite:" + filepath.Join(data, "newsflow.db")},
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err = p.Fetcher().Once(ctx)
	require.NoError(t, err)
	require.NoError(t, p.WaitIdle(ctx))

	t.Run("metric names", func(t *testing.T) { checkMetricNames(t, registeredMetrics(t, p.Telemetry().Registry)) })

	api := startPrometheus(t, bin, p.Addr)
	// Wait until the pipeline's metrics have been scraped often enough for
	// rate() over a minute and for the recording rules to have run.
	require.Eventually(t, func() bool {
		res, err := api.query(`count_over_time(newsflow_messages_total{stage="sink", outcome="ok"}[1m]) >= 4`)
		return err == nil && len(res) > 0
	}, time.Minute, 250*time.Millisecond, "prometheus does not scrape the pipeline")
	require.Eventually(t, func() bool {
		res, err := api.query(`stage:newsflow_messages:rate5m`)
		return err == nil && len(res) > 0
	}, 30*time.Second, 250*time.Millisecond, "recording rules do not evaluate")

	report := []string{fmt.Sprintf("%-9s %-46s %s", "dashboard", "panel / rule", "series")}
	for _, f := range dashboardFiles(t) {
		qs, _ := dashboardQueries(t, f)
		dash := strings.TrimSuffix(filepath.Base(f), ".json")
		for _, q := range qs {
			res, err := api.query(q.expr)
			require.NoError(t, err, "%s: %s", q.where, q.expr)
			report = append(report, fmt.Sprintf("%-9s %-46s %d", dash, trim(q.panel, 46), len(res)))
			if dash == "overview" {
				require.NotEmpty(t, res, "overview panel %q returns no data: %s", q.panel, q.expr)
			}
		}
	}
	for _, q := range ruleQueries(t) {
		if strings.Contains(q.where, "recording.yml") {
			res, err := api.query(q.rule)
			require.NoError(t, err)
			report = append(report, fmt.Sprintf("%-9s %-46s %d", "rule", trim(q.rule, 46), len(res)))
		}
	}
	t.Log("query results (series returned):\n" + strings.Join(report, "\n"))

	// Every rule loaded and evaluated without error.
	var rules struct {
		Groups []struct {
			Rules []struct {
				Name, Health, LastError string
			}
		}
	}
	require.NoError(t, api.get("/api/v1/rules", nil, &rules))
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			require.Equal(t, "ok", r.Health, "rule %s: %s", r.Name, r.LastError)
		}
	}
	require.Equal(t, len(ruleQueries(t)), n)
}

func trim(s string, n int) string {
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}

// promAPI talks to a Prometheus server's HTTP API.
type promAPI struct{ base string }

func (a promAPI) get(path string, params url.Values, data any) error {
	resp, err := http.Get(a.base + path + "?" + params.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("%s: %s: %w", path, resp.Status, err)
	}
	if body.Status != "success" {
		return fmt.Errorf("%s: %s", path, body.Error)
	}
	return json.Unmarshal(body.Data, data)
}

// query evaluates expr now and returns the series of its vector result.
func (a promAPI) query(expr string) ([]json.RawMessage, error) {
	var data struct {
		ResultType string            `json:"resultType"`
		Result     []json.RawMessage `json:"result"`
	}
	if err := a.get("/api/v1/query", url.Values{"query": {expr}}, &data); err != nil {
		return nil, err
	}
	if data.ResultType != "vector" {
		return nil, fmt.Errorf("result type %s", data.ResultType)
	}
	return data.Result, nil
}

// startPrometheus runs the real Prometheus server with the repository's
// local configuration (deploy/prometheus/local/prometheus.yml: its rules,
// its job), pointed at target and scraping every second.
func startPrometheus(t *testing.T, bin, target string) promAPI {
	t.Helper()
	var conf map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(readFile(t, "prometheus/local/prometheus.yml")), &conf))
	conf["global"] = map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"}
	var rules []any
	for _, f := range conf["rule_files"].([]any) {
		abs, err := filepath.Abs(filepath.Join("prometheus/local", f.(string)))
		require.NoError(t, err)
		rules = append(rules, abs)
	}
	conf["rule_files"] = rules
	scrapes := conf["scrape_configs"].([]any)
	require.Len(t, scrapes, 1)
	static := scrapes[0].(map[string]any)["static_configs"].([]any)
	require.Len(t, static, 1)
	static[0].(map[string]any)["targets"] = []any{target}
	out, err := yaml.Marshal(conf)
	require.NoError(t, err)
	dir := t.TempDir()
	path := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(path, out, 0o644))

	addr := freeAddr(t)
	var log strings.Builder
	cmd := exec.Command(bin, "--config.file="+path, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &log, &log
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		if t.Failed() {
			t.Log("prometheus log:\n" + log.String())
		}
	})
	api := promAPI{base: "http://" + addr}
	require.Eventually(t, func() bool {
		resp, err := http.Get(api.base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 100*time.Millisecond, "prometheus not ready")
	return api
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// TestAlertConventions: every alert carries a summary, a description, a
// runbook_url an operator can click, and a severity of the usual set
// (kube-prometheus, monitoring-mixins).
func TestAlertConventions(t *testing.T) {
	var rf ruleFile
	require.NoError(t, yaml.UnmarshalStrict([]byte(readFile(t, "prometheus/rules/alerts.yml")), &rf))
	n := 0
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			n++
			require.Contains(t, []string{"critical", "warning", "info"}, r.Labels["severity"], r.Alert)
			require.NotEmpty(t, r.Annotations["summary"], r.Alert)
			require.NotEmpty(t, r.Annotations["description"], r.Alert)
			u, err := url.Parse(r.Annotations["runbook_url"])
			require.NoError(t, err, r.Alert)
			require.True(t, u.Scheme == "https" && u.Host != "" && u.Fragment != "", "%s: runbook_url %q is not an absolute link to a section", r.Alert, u)
		}
	}
	require.Positive(t, n)
}
