package deploy

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// query is one PromQL expression of a rule file or a dashboard panel.
type query struct {
	where string // file and rule or panel title
	expr  string // with Grafana's variables substituted
	panel string // dashboard panel title ("" for rules)
	rule  string // recorded series or alert name ("" for panels)
}

type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Record      string            `json:"record"`
			Alert       string            `json:"alert"`
			Expr        string            `json:"expr"`
			For         string            `json:"for"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

type dashboard struct {
	UID    string `json:"uid"`
	Title  string `json:"title"`
	Panels []struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

// ruleQueries returns the expressions of every rule file.
func ruleQueries(t *testing.T) []query {
	t.Helper()
	files, err := filepath.Glob("prometheus/rules/*.yml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var out []query
	for _, f := range files {
		var rf ruleFile
		require.NoError(t, yaml.UnmarshalStrict([]byte(readFile(t, f)), &rf), f)
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				out = append(out, query{where: f + ": " + r.Record + r.Alert, expr: r.Expr, rule: r.Record + r.Alert})
			}
		}
	}
	return out
}

// grafanaVars stand in for Grafana's variables when a query is parsed or
// run outside Grafana.
var grafanaVars = strings.NewReplacer("$__rate_interval", "1m", "$__range", "1h", "${stage}", "normalizer", "$stage", "normalizer",
	// The scoping variables at "All" (see package dashgen).
	"$cluster", ".*", "$namespace", ".*", "$job", ".+", "$instance", ".+")

// loadDashboard reads one dashboard.
func loadDashboard(t *testing.T, path string) dashboard {
	t.Helper()
	var d dashboard
	require.NoError(t, json.Unmarshal([]byte(readFile(t, path)), &d), path)
	return d
}

// dashboardQueries returns the panel queries of a dashboard, and the metric
// names its variables' label_values() queries use.
func dashboardQueries(t *testing.T, path string) ([]query, []string) {
	t.Helper()
	d := loadDashboard(t, path)
	require.NotEmpty(t, d.UID, path)
	var out []query
	for _, p := range d.Panels {
		require.NotEmpty(t, p.Targets, "%s: panel %q has no query", path, p.Title)
		for _, tg := range p.Targets {
			out = append(out, query{where: path + ": " + p.Title, expr: grafanaVars.Replace(tg.Expr), panel: p.Title})
		}
	}
	var names []string
	labelValues := regexp.MustCompile(`^label_values\((\w+)(?:\{[^}]*\})?,\s*\w+\)$`)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		m := labelValues.FindStringSubmatch(v.Definition)
		require.NotNil(t, m, "%s: variable %s: %q", path, v.Name, v.Definition)
		names = append(names, m[1])
	}
	return out, names
}

func dashboardFiles(t *testing.T) []string {
	files, err := filepath.Glob("grafana/dashboards/*.json")
	require.NoError(t, err)
	require.Len(t, files, 3)
	return files
}

// metricNames parses expr and returns the metric names it selects.
func metricNames(expr string) ([]string, error) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		names = append(names, name)
		return nil
	})
	return names, nil
}

// TestPromQLParses parses every expression of every rule and dashboard.
func TestPromQLParses(t *testing.T) {
	all := ruleQueries(t)
	for _, f := range dashboardFiles(t) {
		qs, _ := dashboardQueries(t, f)
		all = append(all, qs...)
	}
	for _, q := range all {
		names, err := metricNames(q.expr)
		require.NoError(t, err, q.where)
		require.NotEmpty(t, names, "%s: selects no metric", q.where)
	}
	_, err := metricNames("sum(rate(newsflow_messages_total[5m])")
	require.Error(t, err, "the parser must reject an unbalanced expression")
}

// checkMetricNames checks every metric name used by rules and dashboards
// against what the services register (names from the registry's Describe,
// so vectors without children count; types from a Gather after a run) or
// the documented lists of NATS exporter metrics and agreed, pending names.
func checkMetricNames(t *testing.T, registered map[string]string) {
	recorded := map[string]bool{"up": true}
	rules := ruleQueries(t)
	for _, q := range rules {
		recorded[q.rule] = true
	}
	nats := lines(t, "prometheus/nats-exporter-metrics.txt")
	pending := lines(t, "prometheus/pending-metrics.txt")
	for name := range pending {
		if _, ok := registered[strings.TrimSuffix(name, "_bucket")]; ok {
			t.Logf("%s is registered now: delete it from prometheus/pending-metrics.txt", name)
		}
	}
	known := func(name string) bool {
		if recorded[name] || nats[name] || pending[name] {
			return true
		}
		if _, ok := registered[name]; ok {
			return true
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if typ, ok := registered[strings.TrimSuffix(name, suffix)]; ok && strings.HasSuffix(name, suffix) {
				return typ == "HISTOGRAM" || (typ == "SUMMARY" && suffix != "_bucket")
			}
		}
		return false
	}
	all := rules
	var varNames []string
	for _, f := range dashboardFiles(t) {
		qs, names := dashboardQueries(t, f)
		all = append(all, qs...)
		varNames = append(varNames, names...)
	}
	var unknown []string
	for _, q := range all {
		names, err := metricNames(q.expr)
		require.NoError(t, err, q.where)
		for _, n := range names {
			if !known(n) {
				unknown = append(unknown, q.where+": "+n)
			}
		}
	}
	for _, n := range varNames {
		if !known(n) {
			unknown = append(unknown, "dashboard variable: "+n)
		}
	}
	sort.Strings(unknown)
	require.Empty(t, unknown, "metric names no service exports")
}

// lines reads a list file: one name a line, '#' comments.
func lines(t *testing.T, path string) map[string]bool {
	out := map[string]bool{}
	for _, l := range readLines(t, path) {
		out[l] = true
	}
	return out
}
