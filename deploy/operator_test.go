package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// operatorRule is where the PrometheusRule of the prometheus-operator
// component lives; TestPrometheusRuleIsTheRules writes it when
// NEWSFLOW_UPDATE=1.
const operatorRule = "k8s/components/prometheus-operator/prometheusrule.yaml"

// rulesAsPrometheusRule is the PrometheusRule made of the rule files a plain
// Prometheus loads: recording rules first, then alerts.
func rulesAsPrometheusRule(t *testing.T) *monitoringv1.PrometheusRule {
	pr := &monitoringv1.PrometheusRule{
		TypeMeta:   metav1.TypeMeta{APIVersion: "monitoring.coreos.com/v1", Kind: "PrometheusRule"},
		ObjectMeta: metav1.ObjectMeta{Name: "newsflow", Labels: map[string]string{"release": "kube-prometheus-stack"}},
	}
	for _, f := range []string{"prometheus/rules/recording.yml", "prometheus/rules/alerts.yml"} {
		var file struct {
			Groups []monitoringv1.RuleGroup `json:"groups"`
		}
		require.NoError(t, yaml.UnmarshalStrict([]byte(readFile(t, f)), &file), f)
		require.NotEmpty(t, file.Groups, f)
		pr.Spec.Groups = append(pr.Spec.Groups, file.Groups...)
	}
	return pr
}

// TestPrometheusRuleIsTheRules: the operator's PrometheusRule holds exactly
// the rules of deploy/prometheus/rules (the one source; the file is
// generated from them).
func TestPrometheusRuleIsTheRules(t *testing.T) {
	want := rulesAsPrometheusRule(t)
	body, err := yaml.Marshal(want)
	require.NoError(t, err)
	text := "# Generated from deploy/prometheus/rules by TestPrometheusRuleIsTheRules\n" +
		"# (NEWSFLOW_UPDATE=1 go test -run TestPrometheusRuleIsTheRules ./deploy); do not edit.\n" + string(body)
	if os.Getenv("NEWSFLOW_UPDATE") == "1" {
		require.NoError(t, os.WriteFile(operatorRule, []byte(text), 0o644))
	}
	o, err := decodeStrict([]byte(readFile(t, operatorRule)))
	require.NoError(t, err)
	got := o.obj.(*monitoringv1.PrometheusRule)
	require.Equal(t, want.Labels, got.Labels)
	require.Equal(t, want.Spec, got.Spec, "%s differs from the rule files: regenerate it (NEWSFLOW_UPDATE=1)", operatorRule)
	require.Equal(t, text, readFile(t, operatorRule))
}

// TestPrometheusOperatorComponent builds the dev overlay with the
// prometheus-operator component: every object decodes strictly into its
// type; the PodMonitors select the stages' and NATS's pods on ports they
// have, with the job labels the rules select by (as under the plain
// prometheus.yml); the rules and the dashboards come along.
func TestPrometheusOperatorComponent(t *testing.T) {
	r := buildOverlay(t, `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: newsflow
resources: [%[1]s/overlays/dev]
components: [%[1]s/components/prometheus-operator]
`)
	checkWorkloads(t, r)
	checkReferences(t, r, nil)

	pods := map[string]*corev1.PodTemplateSpec{} // by app.kubernetes.io/name
	for _, o := range workloads(r) {
		tpl, _, _ := podTemplate(o)
		pods[tpl.Labels["app.kubernetes.io/name"]] = tpl
	}
	monitors := r.all("PodMonitor")
	require.Len(t, monitors, 2)
	jobs := map[string][]string{}
	for _, o := range monitors {
		pm := o.obj.(*monitoringv1.PodMonitor)
		require.Equal(t, "newsflow", o.namespace)
		require.Equal(t, "kube-prometheus-stack", pm.Labels["release"], o.name)
		require.Len(t, pm.Spec.PodMetricsEndpoints, 1, o.name)
		port := *pm.Spec.PodMetricsEndpoints[0].Port
		for name, tpl := range pods {
			if !selects(t, &pm.Spec.Selector, tpl.Labels) {
				continue
			}
			job := tpl.Labels[pm.Spec.JobLabel]
			require.NotEmpty(t, job, "%s: pods of %s lack the job label %s", o.name, name, pm.Spec.JobLabel)
			jobs[job] = append(jobs[job], name)
			var ports []string
			for _, c := range tpl.Spec.Containers {
				for _, p := range c.Ports {
					ports = append(ports, p.Name)
				}
			}
			require.Contains(t, ports, port, "%s: pods of %s have no port %s", o.name, name, port)
		}
	}
	for _, names := range jobs {
		slices.Sort(names)
	}
	require.Equal(t, map[string][]string{"newsflow": {"fetcher", "normalizer", "sink", "tagger"}, "nats": {"nats"}}, jobs,
		"jobs as the plain prometheus.yml names them (the rules select job=\"newsflow\")")

	rule, ok := r.find("PrometheusRule", "newsflow")
	require.True(t, ok)
	require.Equal(t, "kube-prometheus-stack", rule.obj.(*monitoringv1.PrometheusRule).Labels["release"])
	require.Equal(t, rulesAsPrometheusRule(t).Spec, rule.obj.(*monitoringv1.PrometheusRule).Spec)

	dashboards := 0
	for _, o := range r.all("ConfigMap") {
		cm := o.obj.(*corev1.ConfigMap)
		if cm.Labels["grafana_dashboard"] != "1" {
			continue
		}
		dashboards++
		require.Len(t, cm.Data, 1, o.name)
		for file, body := range cm.Data {
			require.Equal(t, readFile(t, filepath.Join("grafana/dashboards", file)), body)
			require.True(t, json.Valid([]byte(body)), file)
		}
	}
	files, err := filepath.Glob("grafana/dashboards/*.json")
	require.NoError(t, err)
	require.Equal(t, len(files), dashboards, "every dashboard is a ConfigMap")
}
