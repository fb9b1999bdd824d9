package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	grafana "github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/deploy/grafana/dashgen"
)

// TestDashboardsAreGenerated holds the dashboards' JSON files to what
// package dashgen builds; NEWSFLOW_UPDATE=1 writes them.
func TestDashboardsAreGenerated(t *testing.T) {
	files, err := dashgen.Files()
	require.NoError(t, err)
	require.Len(t, files, 3)
	for name, want := range files {
		path := filepath.Join("grafana", "dashboards", name)
		if os.Getenv("NEWSFLOW_UPDATE") == "1" {
			require.NoError(t, os.WriteFile(path, want, 0o644))
		}
		require.Equal(t, string(want), readFile(t, path), "%s is not what dashgen builds: regenerate it (NEWSFLOW_UPDATE=1 go test -run TestDashboardsAreGenerated ./deploy)", path)
	}
}

// strictProblems decodes a dashboard the way Grafana's schema reads it
// (the foundation SDK's strict decoding: every required field present, no
// unknown one) and returns what it finds wrong.
func strictProblems(raw []byte) []string {
	plugins.RegisterDefaultPlugins()
	var d grafana.Dashboard
	err := d.UnmarshalJSONStrict(raw)
	var be cog.BuildErrors
	switch {
	case err == nil:
		return nil
	case errors.As(err, &be):
		out := make([]string, len(be))
		for i, e := range be {
			out[i] = e.Error()
		}
		return out
	}
	return []string{err.Error()}
}

// TestDashboardsDecodeStrictly: Grafana's schema accepts every dashboard
// as it is, with nothing missing.
func TestDashboardsDecodeStrictly(t *testing.T) {
	for _, f := range dashboardFiles(t) {
		require.Empty(t, strictProblems([]byte(readFile(t, f))), f)
	}
}

// lintDashboard checks a dashboard against the rules of Grafana's
// dashboard-linter (github.com/grafana/dashboard-linter, whose module the
// proxy here does not serve, so its rules are written out here by their
// names) and returns one line per problem.
func lintDashboard(raw []byte) []string {
	var d struct {
		Editable   *bool `json:"editable"`
		Templating struct {
			List []struct {
				Name, Type, Label, AllValue string
				Query                       any
				Datasource                  *struct{ UID string }
				Multi, IncludeAll           bool
				Refresh                     int
			}
		}
		Panels []struct {
			Title, Type, Description string
			Datasource               *struct{ UID string }
			FieldConfig              struct {
				Defaults struct{ Unit string }
			}
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	var out []string
	add := func(rule, format string, args ...any) { out = append(out, rule+": "+fmt.Sprintf(format, args...)) }
	if d.Editable == nil || *d.Editable {
		add("uneditable-dashboard", "the dashboard is editable")
	}
	vars := map[string]int{}
	for i, v := range d.Templating.List {
		vars[v.Name] = i
	}
	dsVar := func(uid string) bool { return uid == "$datasource" || uid == "${datasource}" }
	if i, ok := vars["datasource"]; !ok {
		add("template-datasource-rule", "no datasource variable")
	} else if v := d.Templating.List[i]; v.Type != "datasource" || v.Query != "prometheus" || v.Label != "Data source" {
		add("template-datasource-rule", "datasource variable: type %q query %v label %q", v.Type, v.Query, v.Label)
	}
	for _, name := range []string{"job", "instance"} {
		i, ok := vars[name]
		if !ok {
			add("template-"+name+"-rule", "no %s variable", name)
			continue
		}
		v := d.Templating.List[i]
		if v.Type != "query" || v.Datasource == nil || !dsVar(v.Datasource.UID) || v.Label != name || !v.Multi || !v.IncludeAll || v.AllValue != ".+" {
			add("template-"+name+"-rule", "%s variable: want a multi-value query variable on $datasource labelled %q with All as .+", name, name)
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		if v.Refresh != 2 {
			add("template-on-time-change-reload-rule", "variable %s does not refresh on a time range change", v.Name)
		}
		qs, _ := v.Query.(string)
		sel, ok := strings.CutPrefix(qs, "label_values(")
		if i := strings.LastIndex(sel, ","); ok && i > 0 {
			sel = sel[:i]
		}
		if _, err := parser.NewParser(parser.Options{}).ParseExpr(grafanaVars.Replace(sel)); !ok || err != nil {
			add("template-label-promql-rule", "variable %s: %q", v.Name, qs)
		}
	}
	for _, p := range d.Panels {
		if p.Title == "" || p.Description == "" {
			add("panel-title-description-rule", "panel %q has no title or no description", p.Title)
		}
		if p.Datasource == nil || !dsVar(p.Datasource.UID) {
			add("panel-datasource-rule", "panel %q does not use $datasource", p.Title)
		}
		if p.FieldConfig.Defaults.Unit == "" {
			add("panel-units-rule", "panel %q has no unit", p.Title)
		}
		if len(p.Targets) == 0 {
			add("panel-no-targets-rule", "panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			e, err := parser.NewParser(parser.Options{}).ParseExpr(grafanaVars.Replace(tg.Expr))
			if err != nil {
				add("target-promql-rule", "panel %q: %v", p.Title, err)
				continue
			}
			for _, r := range regexp.MustCompile(`\[([^\]]+)\]`).FindAllStringSubmatch(tg.Expr, -1) {
				if r[1] != "$__rate_interval" && r[1] != "$__range" {
					add("target-rate-interval-rule", "panel %q: range [%s]", p.Title, r[1])
				}
			}
			parser.Inspect(e, func(n parser.Node, path []parser.Node) error {
				vs, ok := n.(*parser.VectorSelector)
				if !ok {
					return nil
				}
				have := map[string]bool{}
				for _, m := range vs.LabelMatchers {
					have[m.Name+m.Type.String()+m.Value] = true
				}
				for _, l := range []string{"job", "instance"} {
					if !have[l+`=~`+".+"] { // $job and $instance, as grafanaVars sets them
						add("target-"+l+"-rule", "panel %q: %s has no %s=~\"$%s\"", p.Title, vs.String(), l, l)
					}
				}
				if strings.HasSuffix(vs.Name, "_total") && !inRangeFunction(path) {
					add("target-counter-agg-rule", "panel %q: counter %s read without rate or increase", p.Title, vs.Name)
				}
				return nil
			})
		}
	}
	return out
}

// inRangeFunction reports whether a selector's path passes through a
// range-vector function (rate, increase, …).
func inRangeFunction(path []parser.Node) bool {
	for _, n := range path {
		if _, ok := n.(*parser.MatrixSelector); ok {
			return true
		}
	}
	return false
}

// TestDashboardLint: no dashboard breaks a linter rule, and the rules do
// find what they look for (an old-style dashboard breaks each of them).
func TestDashboardLint(t *testing.T) {
	for _, f := range dashboardFiles(t) {
		require.Empty(t, lintDashboard([]byte(readFile(t, f))), f)
	}
	bad := `{"editable": true, "templating": {"list": [{"name": "stage", "type": "query", "query": "label_values(newsflow_messages_total, stage)"}]},
		"panels": [{"title": "Messages", "targets": [{"expr": "sum(rate(newsflow_messages_total[5m])) + sum(newsflow_published_total)"}]}]}`
	rules := map[string]bool{}
	for _, p := range lintDashboard([]byte(bad)) {
		rule, _, _ := strings.Cut(p, ":")
		rules[rule] = true
	}
	for _, r := range []string{"uneditable-dashboard", "template-datasource-rule", "template-job-rule", "template-instance-rule",
		"template-on-time-change-reload-rule", "panel-title-description-rule", "panel-datasource-rule", "panel-units-rule",
		"target-rate-interval-rule", "target-job-rule", "target-instance-rule", "target-counter-agg-rule"} {
		require.True(t, rules[r], "rule %s did not fire on the bad dashboard", r)
	}
}
