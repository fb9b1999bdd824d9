package deploy

import (
	"fmt"
	"regexp"
	"sort"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/stretchr/testify/require"
	yaml "go.yaml.in/yaml/v2"
)

type scrapeFile struct {
	ScrapeConfigs []struct {
		JobName       string            `yaml:"job_name"`
		Relabel       []*relabel.Config `yaml:"relabel_configs"`
		KubernetesSD  []map[string]any  `yaml:"kubernetes_sd_configs"`
		StaticConfigs []map[string]any  `yaml:"static_configs"`
		Rest          map[string]any    `yaml:",inline"`
	} `yaml:"scrape_configs"`
}

var nonLabelChars = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// TestScrapeRelabelling runs the Kubernetes scrape configuration's
// relabelling (Prometheus's own code) over the targets Kubernetes pod
// discovery would produce for the dev overlay's pods: each stage is scraped
// once, on its metrics port and path, with its service label; NATS once per
// pod, on the exporter's port; nothing else.
func TestScrapeRelabelling(t *testing.T) {
	var conf scrapeFile
	require.NoError(t, yaml.Unmarshal([]byte(readFile(t, "prometheus/prometheus.yml")), &conf))
	r := build(t, "k8s/overlays/dev")

	// The targets pod discovery makes: one per container port.
	var targets []labels.Labels
	for _, o := range workloads(r) {
		tpl, _, _ := podTemplate(o)
		pod := o.name + "-0"
		for _, c := range tpl.Spec.Containers {
			for _, p := range c.Ports {
				m := map[string]string{
					model.AddressLabel:                            fmt.Sprintf("10.0.0.1:%d", p.ContainerPort),
					model.MetricsPathLabel:                        "/metrics",
					"__meta_kubernetes_namespace":                 o.namespace,
					"__meta_kubernetes_pod_name":                  pod,
					"__meta_kubernetes_pod_container_name":        c.Name,
					"__meta_kubernetes_pod_container_port_name":   p.Name,
					"__meta_kubernetes_pod_container_port_number": fmt.Sprint(p.ContainerPort),
				}
				for k, v := range tpl.Labels {
					m["__meta_kubernetes_pod_label_"+nonLabelChars.ReplaceAllString(k, "_")] = v
				}
				for k, v := range tpl.Annotations {
					m["__meta_kubernetes_pod_annotation_"+nonLabelChars.ReplaceAllString(k, "_")] = v
				}
				targets = append(targets, labels.FromMap(m))
			}
		}
	}

	got := map[string][]string{}
	for _, sc := range conf.ScrapeConfigs {
		require.Len(t, sc.KubernetesSD, 1, sc.JobName)
		require.Equal(t, "pod", sc.KubernetesSD[0]["role"], sc.JobName)
		for _, rc := range sc.Relabel {
			rc.NameValidationScheme = model.LegacyValidation
			require.NoError(t, rc.Validate(model.LegacyValidation), sc.JobName)
		}
		for _, tg := range targets {
			lb := labels.NewBuilder(tg)
			if !relabel.ProcessBuilder(lb, sc.Relabel...) {
				continue
			}
			l := lb.Labels()
			got[sc.JobName] = append(got[sc.JobName], fmt.Sprintf("%s%s service=%s pod=%s",
				l.Get(model.AddressLabel), l.Get(model.MetricsPathLabel), l.Get("service"), l.Get("pod")))
		}
		sort.Strings(got[sc.JobName])
	}
	require.Equal(t, map[string][]string{
		"newsflow": {
			"10.0.0.1:8080/metrics service=sink pod=sink-0",
			"10.0.0.1:9101/metrics service=fetcher pod=fetcher-0",
			"10.0.0.1:9102/metrics service=normalizer pod=normalizer-0",
			"10.0.0.1:9103/metrics service=tagger pod=tagger-0",
		},
		"nats": {"10.0.0.1:7777/metrics service= pod=nats-0"},
	}, got)
}
