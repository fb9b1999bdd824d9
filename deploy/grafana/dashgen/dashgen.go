// Package dashgen builds newsflow's Grafana dashboards as typed objects
// (github.com/grafana/grafana-foundation-sdk/go) and writes them as the
// JSON files of deploy/grafana/dashboards, which Grafana provisions and the
// prometheus-operator component turns into ConfigMaps. A test in deploy
// holds the checked-in files to what this package generates
// (NEWSFLOW_UPDATE=1 rewrites them).
//
// Every dashboard has the variables of the monitoring-mixins habit
// (datasource, cluster, namespace, job, instance), and every query is
// scoped by them: Scope adds the matchers to each series selector, so a
// panel's query is written once, unscoped. Panels carry a description and
// a unit, the dashboards link to each other and are not editable once
// provisioned.
package dashgen

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/heatmap"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Tag is the tag every newsflow dashboard carries; the links between them
// select by it.
const Tag = "newsflow"

// ScopeLabels are the labels every query is filtered by, each with the
// dashboard variable of the same name.
var ScopeLabels = []string{"cluster", "namespace", "job", "instance"}

// Grafana's interval variables do not parse as PromQL: they stand in as
// durations no query uses while a query is scoped.
var (
	toPromQL   = strings.NewReplacer("$__rate_interval", "4321s", "$__range", "4322s")
	fromPromQL = strings.NewReplacer("1h12m1s", "$__rate_interval", "1h12m2s", "$__range")
)

// Scope adds cluster=~"$cluster", namespace=~"$namespace", job=~"$job" and
// instance=~"$instance" to every series selector of expr.
func Scope(expr string) (string, error) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(toPromQL.Replace(expr))
	if err != nil {
		return "", fmt.Errorf("scope %q: %w", expr, err)
	}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		for _, l := range ScopeLabels {
			vs.LabelMatchers = append(vs.LabelMatchers, &labels.Matcher{Type: labels.MatchRegexp, Name: l, Value: "$" + l})
		}
		return nil
	})
	return fromPromQL.Replace(e.String()), nil
}

// datasource is the data source every panel and query uses: the
// dashboard's datasource variable.
var datasource = common.DataSourceRef{Type: ptr("prometheus"), Uid: ptr("${datasource}")}

func ptr[T any](v T) *T { return &v }

// query is one query of a panel, unscoped.
type query struct {
	expr, legend string
	heatmap      bool // returns buckets, as a heatmap wants them
	instant      bool
}

func q(expr, legend string) query { return query{expr: expr, legend: legend} }

// board collects a dashboard's panels and the first error met.
type board struct {
	b   *dashboard.DashboardBuilder
	err error
	row struct{ x, y, h uint32 }
}

// targets scopes qs into the panel's queries, A, B, …
func (bd *board) targets(qs []query) []cog.Builder[variants.Dataquery] {
	var out []cog.Builder[variants.Dataquery]
	for i, qu := range qs {
		expr, err := Scope(qu.expr)
		if err != nil && bd.err == nil {
			bd.err = err
		}
		t := prometheus.NewDataqueryBuilder().RefId(string(rune('A' + i))).Expr(expr).LegendFormat(qu.legend).Datasource(datasource)
		if qu.heatmap {
			t = t.Format(prometheus.PromQueryFormatHeatmap)
		}
		if qu.instant {
			t = t.Instant().Format(prometheus.PromQueryFormatTable)
		}
		out = append(out, t)
	}
	return out
}

// place returns the grid position of the next panel, w wide (of 24) and 8
// high, filling rows left to right.
func (bd *board) place(w uint32) dashboard.GridPos {
	if bd.row.x+w > 24 {
		bd.row.x, bd.row.y = 0, bd.row.y+8
	}
	p := dashboard.GridPos{X: bd.row.x, Y: bd.row.y, W: w, H: 8}
	bd.row.x += w
	return p
}

// series adds a time series panel.
func (bd *board) series(w uint32, title, description, unit string, qs ...query) {
	bd.b.WithPanel(timeseries.NewPanelBuilder().
		Title(title).Description(description).Unit(unit).Datasource(datasource).GridPos(bd.place(w)).
		Targets(bd.targets(qs)).
		Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending)))
}

// stat adds a stat panel showing each query's last value.
func (bd *board) stat(w uint32, title, description, unit string, qs ...query) {
	bd.b.WithPanel(stat.NewPanelBuilder().
		Title(title).Description(description).Unit(unit).Datasource(datasource).GridPos(bd.place(w)).
		Targets(bd.targets(qs)).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false)).
		GraphMode(common.BigValueGraphModeArea).ColorMode(common.BigValueColorModeValue).
		TextMode(common.BigValueTextModeValueAndName).JustifyMode(common.BigValueJustifyModeAuto).
		Orientation(common.VizOrientationAuto).ShowPercentChange(false).WideLayout(true))
}

// heat adds a heatmap of a histogram's buckets, in seconds.
func (bd *board) heat(w uint32, title, description string, qu query) {
	qu.heatmap = true
	bd.b.WithPanel(heatmap.NewPanelBuilder().
		Title(title).Description(description).Unit("s").Datasource(datasource).GridPos(bd.place(w)).
		Targets(bd.targets([]query{qu})).
		Calculate(false).CellGap(1).
		YAxis(heatmap.NewYAxisConfigBuilder().Unit("s")).
		Color(heatmap.NewHeatmapColorOptionsBuilder().Mode(heatmap.HeatmapColorModeScheme).Scheme("Oranges").Scale(heatmap.HeatmapColorScaleExponential).Exponent(0.5).Steps(64).Fill("dark-orange").Reverse(false)).
		CellValues(heatmap.NewCellValuesBuilder()).
		FilterValues(heatmap.NewFilterValueRangeBuilder().Le(1e-9)).
		RowsFrame(heatmap.NewRowsHeatmapOptionsBuilder().Layout(common.HeatmapCellLayoutAuto)).
		ShowValue(common.VisibilityModeAuto).
		Tooltip(heatmap.NewHeatmapTooltipBuilder().Mode(common.TooltipDisplayModeSingle).YHistogram(true)).
		ShowLegend().
		ExemplarsColor("rgba(255,0,255,0.7)"))
}

// table adds a table of an instant query's result.
func (bd *board) table(w uint32, title, description, unit string, qu query) {
	qu.instant = true
	bd.b.WithPanel(table.NewPanelBuilder().
		Title(title).Description(description).Unit(unit).Datasource(datasource).GridPos(bd.place(w)).
		Targets(bd.targets([]query{qu})).
		ShowHeader(true).CellHeight(common.TableCellHeightSm).
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"})))
}

// newBoard starts a dashboard with the scoping variables, stage-specific
// ones after them.
func newBoard(uid, title, description string, extra ...cog.Builder[dashboard.VariableModel]) *board {
	b := dashboard.NewDashboardBuilder(title).
		Uid(uid).Description(description).Tags([]string{Tag}).
		Readonly().Refresh("30s").Time("now-3h", "now").Timezone("browser").
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Link(dashboard.NewDashboardLinkBuilder("newsflow").Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{Tag}).AsDropdown(false).IncludeVars(true).KeepTime(true).Icon("external link").
			Tooltip("").Url("").TargetBlank(false)).
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").Label("Data source").Type("prometheus").
			Current(dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: ptr("default")}, Value: dashboard.StringOrArrayOfString{String: ptr("default")}}))
	scope := []string{}
	for _, l := range ScopeLabels {
		all := ".*" // cluster and namespace may be absent: match that too
		if l == "job" || l == "instance" {
			all = ".+"
		}
		b.WithVariable(labelVariable(l, "up", scope, all))
		scope = append(scope, l)
	}
	for _, v := range extra {
		b.WithVariable(v)
	}
	return &board{b: b}
}

// labelVariable is a multi-value variable over the values of label on
// metric, among the series the variables before it select.
func labelVariable(label, metric string, scope []string, all string) *dashboard.QueryVariableBuilder {
	sel := metric
	if len(scope) > 0 {
		ms := make([]string, len(scope))
		for i, s := range scope {
			ms[i] = fmt.Sprintf(`%s=~"$%s"`, s, s)
		}
		sel += "{" + strings.Join(ms, ", ") + "}"
	}
	def := fmt.Sprintf("label_values(%s, %s)", sel, label)
	allOption := dashboard.VariableOption{Selected: ptr(true), Text: dashboard.StringOrArrayOfString{ArrayOfString: []string{"All"}}, Value: dashboard.StringOrArrayOfString{ArrayOfString: []string{"$__all"}}}
	return dashboard.NewQueryVariableBuilder(label).Label(label).
		Query(dashboard.StringOrMap{String: ptr(def)}).Definition(def).Datasource(datasource).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).IncludeAll(true).AllValue(all).Current(allOption).Options([]dashboard.VariableOption{})
}

func (bd *board) build() (dashboard.Dashboard, error) {
	if bd.err != nil {
		return dashboard.Dashboard{}, bd.err
	}
	return bd.b.Build()
}

// Files returns the dashboards as the JSON files of
// deploy/grafana/dashboards: file name → content.
func Files() (map[string][]byte, error) {
	out := map[string][]byte{}
	for name, build := range map[string]func() *board{"overview.json": overview, "stage.json": stageBoard, "fetcher.json": fetcherBoard} {
		d, err := build().build()
		if err != nil {
			return nil, fmt.Errorf("dashboard %s: %w", name, err)
		}
		b, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("dashboard %s: %w", name, err)
		}
		out[name] = append(b, '\n')
	}
	return out, nil
}
