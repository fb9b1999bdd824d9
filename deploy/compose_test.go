package deploy

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v2"

	"github.com/newsflow/newsflow/services/normalizer/extract"
	"github.com/newsflow/newsflow/stage"
)

// TestCompose loads deploy/compose/compose.yaml the way docker compose
// does (compose-go: schema validation, interpolation, merge keys, paths)
// and checks it against the repository, since no Docker engine runs here:
// the stages are built from the Dockerfile with their own SERVICE, their
// environment sets flags the services have and values they accept, every
// file mounted exists, Prometheus scrapes each stage and the exporter on
// the ports they serve, Grafana gets the dashboards where its provisioning
// looks, images are pinned and ports published on loopback only.
func TestCompose(t *testing.T) {
	opts, err := cli.NewProjectOptions([]string{filepath.Join("compose", "compose.yaml")},
		cli.WithWorkingDirectory("compose"), cli.WithResolvedPaths(true), cli.WithEnv([]string{}))
	require.NoError(t, err)
	p, err := opts.LoadProject(t.Context())
	require.NoError(t, err)
	root, err := filepath.Abs("..")
	require.NoError(t, err)

	stages := []string{"fetcher", "normalizer", "tagger", "sink"}
	require.ElementsMatch(t, append([]string{"nats", "nats-exporter", "sink-data-owner", "prometheus", "grafana"}, stages...), p.ServiceNames())

	for _, svc := range p.Services {
		image, tag, ok := strings.Cut(svc.Image, ":")
		require.True(t, ok && tag != "" && tag != "latest", "%s: image %q is not pinned", svc.Name, svc.Image)
		for _, port := range svc.Ports {
			require.Equal(t, "127.0.0.1", port.HostIP, "%s publishes port %d beyond loopback", svc.Name, port.Target)
		}
		for _, v := range svc.Volumes {
			switch v.Type {
			case types.VolumeTypeBind:
				require.True(t, strings.HasPrefix(v.Source, root+string(filepath.Separator)), "%s mounts %s from outside the repository", svc.Name, v.Source)
				_, err := os.Stat(v.Source)
				require.NoError(t, err, "%s mounts a file the repository lacks", svc.Name)
			case types.VolumeTypeVolume:
				require.Contains(t, p.Volumes, v.Source, "%s: volume %s not declared", svc.Name, v.Source)
			}
		}
		if !slices.Contains(stages, svc.Name) {
			continue
		}
		// A stage: built from this repository as newsflow/<name>.
		require.Equal(t, "newsflow/"+svc.Name, image)
		require.NotNil(t, svc.Build, svc.Name)
		require.Equal(t, root, svc.Build.Context, svc.Name)
		_, err := os.Stat(filepath.Join(svc.Build.Context, svc.Build.Dockerfile))
		require.NoError(t, err, "%s: Dockerfile", svc.Name)
		require.Equal(t, svc.Name, *svc.Build.Args["SERVICE"])
		_, err = os.Stat(filepath.Join(root, "services", svc.Name, "cmd", svc.Name))
		require.NoError(t, err, "%s: the Dockerfile builds ./services/%[1]s/cmd/%[1]s", svc.Name)
		require.True(t, svc.ReadOnly, "%s: read-only root", svc.Name)
		require.Equal(t, float32(1), svc.CPUS, "%s: one CPU, as its Kubernetes limit", svc.Name)
		require.Contains(t, svc.DependsOn, "nats", svc.Name)

		// The environment as the service's main reads it.
		fs, cfg, validate := serviceFlags(svc.Name)
		for k, v := range svc.Environment {
			require.True(t, strings.HasPrefix(k, stage.EnvPrefix), "%s: %s", svc.Name, k)
			flagName := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(k, stage.EnvPrefix), "_", "-"))
			require.NotNil(t, fs.Lookup(flagName), "%s: %s sets no flag of the service", svc.Name, k)
			if k == "NEWSFLOW_STORE" {
				// The volume's path inside the container stands for a
				// directory here.
				v = ptrTo(strings.Replace(*v, "/data/", t.TempDir()+"/", 1))
			}
			t.Setenv(k, *v)
		}
		require.NoError(t, stage.ParseFlags(fs, nil), svc.Name)
		require.NoError(t, validate(), "%s: configuration the service refuses", svc.Name)
		u, err := url.Parse(cfg.NATSURL)
		require.NoError(t, err)
		require.Equal(t, "nats", u.Hostname(), "%s: NATS", svc.Name)
		_, port, err := net.SplitHostPort(cfg.HTTPAddr)
		require.NoError(t, err)
		require.Equal(t, "8080", port, "%s: the port Prometheus scrapes", svc.Name)
	}

	// Prometheus scrapes every stage and the exporter, with the rules.
	var prom struct {
		Global        map[string]string
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string
				Labels  map[string]string
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	require.NoError(t, yaml.UnmarshalStrict([]byte(readFile(t, "compose/prometheus.yml")), &prom))
	for _, f := range prom.RuleFiles {
		_, err := os.Stat(filepath.Join("prometheus", f))
		require.NoError(t, err, "rule file %s", f)
	}
	scraped := map[string]string{}
	for _, sc := range prom.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				host, _, err := net.SplitHostPort(target)
				require.NoError(t, err)
				require.Contains(t, p.ServiceNames(), host, "scrape target %s", target)
				scraped[host] = sc.JobName
				if sc.JobName == "newsflow" {
					require.Equal(t, host, st.Labels["service"], "the dashboards pick a stage's pods by label service")
				}
			}
		}
	}
	for _, s := range stages {
		require.Equal(t, "newsflow", scraped[s], "%s is not scraped as job newsflow (the alerts select it)", s)
	}
	require.Equal(t, "nats", scraped["nats-exporter"])
	exporter := p.Services["nats-exporter"]
	require.Contains(t, strings.Join(exporter.Command, " "), "-port 7777")
	require.Contains(t, exporter.Command, "http://nats:8222")
	// NATS runs the mounted configuration: monitoring where the exporter
	// reads it, JetStream on the volume, messages that hold any page.
	nats := p.Services["nats"]
	require.Equal(t, []string{"--config", "/etc/nats/nats.conf"}, []string(nats.Command))
	var conf string
	for _, v := range nats.Volumes {
		if v.Target == "/etc/nats/nats.conf" {
			conf = v.Source
		}
	}
	require.NotEmpty(t, conf, "nats.conf is not mounted")
	nopts, err := server.ProcessConfigFile(conf)
	require.NoError(t, err)
	require.Equal(t, 8222, nopts.HTTPPort)
	require.True(t, nopts.JetStream)
	require.Equal(t, "/data", nopts.StoreDir)
	require.GreaterOrEqual(t, int64(nopts.MaxPayload), int64(extract.DefaultMaxBytes), "a NATS message holds the largest page the normalizer accepts")

	// Grafana: the dashboards where the provisioning looks, the data
	// source at Prometheus.
	g := p.Services["grafana"]
	require.Equal(t, "http://prometheus:9090", *g.Environment["PROMETHEUS_URL"])
	var provider struct {
		Providers []struct {
			Options struct{ Path string }
		}
	}
	require.NoError(t, yaml.Unmarshal([]byte(readFile(t, "grafana/provisioning/dashboards/newsflow.yaml")), &provider))
	dashboards := filepath.Join(root, "deploy", "grafana", "dashboards")
	mounted := false
	for _, v := range g.Volumes {
		if v.Source == dashboards {
			require.Equal(t, provider.Providers[0].Options.Path, v.Target)
			mounted = true
		}
	}
	require.True(t, mounted, "grafana does not mount the dashboards")
}

func ptrTo(s string) *string { return &s }
