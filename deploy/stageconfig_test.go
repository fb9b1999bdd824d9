package deploy

import (
	"cmp"
	"errors"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/newsflow/newsflow/services/fetcher/fetcher"
	"github.com/newsflow/newsflow/services/normalizer/normalizer"
	"github.com/newsflow/newsflow/services/sink/sink"
	"github.com/newsflow/newsflow/services/tagger/tagger"
	"github.com/newsflow/newsflow/stage"
)

// externalSecretValues stand in for Secrets the platform creates.
var externalSecretValues = map[string]string{
	"newsflow-nats-users": "password-from-the-platform",
	"newsflow-postgres":   "postgres://newsflow:password@postgres:5432/newsflow",
	"newsflow-api-tokens": "token-from-the-platform",
}

// serviceFlags is what the service's main registers: the runtime's flags and
// the service's own, with the validation main runs.
func serviceFlags(name string) (*flag.FlagSet, *stage.Config, func() error) {
	cfg := stage.DefaultConfig()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	var validate func() error
	switch name {
	case fetcher.Name:
		o := fetcher.DefaultConfig()
		o.RegisterFlags(fs)
		validate = func() error {
			if o.FeedsFile != "" {
				if _, err := fetcher.ReadFeedsFile(o.FeedsFile); err != nil {
					return err
				}
			}
			return o.Validate()
		}
	case normalizer.Name:
		c := normalizer.DefaultConfig()
		c.RegisterFlags(fs)
		validate = func() error { return c.Validate() }
	case tagger.Name:
		var c tagger.Config
		c.RegisterFlags(fs)
		validate = func() error { return c.Validate() }
	case sink.Name:
		c := sink.DefaultConfig()
		c.RegisterFlags(fs)
		validate = func() error { return c.Validate() }
	}
	return fs, &cfg, func() error { return errors.Join(cfg.Validate(), validate()) }
}

var envRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// runServiceConfig parses the container's arguments and environment exactly
// as the service's main does and validates the result. Mounted volumes are
// stood in for by temporary directories (holding the ConfigMap's files for a
// ConfigMap volume), secrets by their generated or placeholder values.
func runServiceConfig(t *testing.T, r rendered, name string, c corev1.Container) stage.Config {
	t.Helper()
	o, _ := r.find("Deployment", name)
	tpl, _, _ := podTemplate(o)
	paths := map[string]string{}
	for _, m := range c.VolumeMounts {
		dir := t.TempDir()
		paths[m.MountPath] = dir
		for _, v := range tpl.Spec.Volumes {
			if v.Name != m.Name || v.ConfigMap == nil {
				continue
			}
			cm, ok := r.find("ConfigMap", v.ConfigMap.Name)
			require.True(t, ok, v.ConfigMap.Name)
			for file, data := range cm.obj.(*corev1.ConfigMap).Data {
				require.NoError(t, os.WriteFile(filepath.Join(dir, file), []byte(data), 0o644))
			}
		}
	}
	// One pass over the string: a temporary directory's own path may
	// contain a mount path (TMPDIR=/tmp/x and a mount at /tmp), and
	// rewriting mount by mount in map order would rewrite it again.
	// Longer mounts come first so a nested mount wins over its parent.
	mounts := slices.SortedFunc(maps.Keys(paths), func(a, b string) int {
		return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b))
	})
	var pairs []string
	for _, mount := range mounts {
		pairs = append(pairs, mount+"/", paths[mount]+"/")
	}
	local := strings.NewReplacer(pairs...).Replace

	env := map[string]string{}
	for _, e := range c.Env {
		v := e.Value
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			v = externalSecretValues[ref.Name]
			if s, ok := r.find("Secret", ref.Name); ok {
				sec := s.obj.(*corev1.Secret)
				v = string(sec.Data[ref.Key]) + sec.StringData[ref.Key]
			}
		case e.ValueFrom != nil:
			t.Fatalf("%s: env %s from an unexpected source", name, e.Name)
		}
		// $(VAR) refers to a variable defined before, as in Kubernetes.
		v = envRef.ReplaceAllStringFunc(v, func(ref string) string {
			val, ok := env[envRef.FindStringSubmatch(ref)[1]]
			require.True(t, ok, "%s: env %s uses %s before it is defined", name, e.Name, ref)
			return val
		})
		env[e.Name] = v
	}

	fs, cfg, validate := serviceFlags(name)
	for k, v := range env {
		if !strings.HasPrefix(k, stage.EnvPrefix) {
			continue
		}
		flagName := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(k, stage.EnvPrefix), "_", "-"))
		require.NotNil(t, fs.Lookup(flagName), "%s: %s sets no flag of the service", name, k)
		t.Setenv(k, local(v))
	}
	args := append([]string(nil), c.Args...)
	for i := range args {
		args[i] = local(args[i])
	}
	require.NoError(t, stage.ParseFlags(fs, args), "%s: args %v", name, c.Args)
	require.Zero(t, fs.NArg(), "%s: stray arguments %v", name, fs.Args())
	err := validate()
	require.NoError(t, err, "%s: configuration the service refuses", name)
	return *cfg
}
