package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/newsflow/newsflow/stage"
)

// overlays are the kustomize overlays a user deploys, each with the Secrets
// it expects the platform to have created (deploy/README.md says how).
var overlays = map[string][]string{
	"k8s/overlays/dev":  nil,
	"k8s/overlays/prod": {"newsflow-nats-users", "newsflow-postgres", "newsflow-api-tokens"},
}

// stageInputs maps each consuming stage to the subject it reads.
var stageInputs = func() map[string]string {
	m := map[string]string{}
	for _, c := range stage.Consumers() {
		m[c.Name] = c.Input
	}
	return m
}()

// stages are the four services, each a Deployment of that name.
var stages = []string{"fetcher", "normalizer", "tagger", "sink"}

// object is one rendered Kubernetes object, decoded strictly into its type.
type object struct {
	kind, name, namespace string
	obj                   any
}

// rendered is one kustomize build, decoded.
type rendered struct {
	objects []object
}

func (r rendered) all(kind string) []object {
	var out []object
	for _, o := range r.objects {
		if o.kind == kind {
			out = append(out, o)
		}
	}
	return out
}

func (r rendered) find(kind, name string) (object, bool) {
	for _, o := range r.objects {
		if o.kind == kind && o.name == name {
			return o, true
		}
	}
	return object{}, false
}

// newObject returns an empty value of the API type for apiVersion and kind;
// a kind the deployment is not expected to contain is an error.
func newObject(apiVersion, kind string) (any, error) {
	switch apiVersion + " " + kind {
	case "v1 Namespace":
		return &corev1.Namespace{}, nil
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1 Secret":
		return &corev1.Secret{}, nil
	case "v1 Service":
		return &corev1.Service{}, nil
	case "v1 PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}, nil
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, nil
	case "apps/v1 StatefulSet":
		return &appsv1.StatefulSet{}, nil
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, nil
	case "keda.sh/v1alpha1 ScaledObject":
		return &kedav1alpha1.ScaledObject{}, nil
	case "v1 ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "networking.k8s.io/v1 NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, nil
	case "monitoring.coreos.com/v1 PodMonitor":
		return &monitoringv1.PodMonitor{}, nil
	case "monitoring.coreos.com/v1 PrometheusRule":
		return &monitoringv1.PrometheusRule{}, nil
	}
	return nil, fmt.Errorf("unexpected object %s %s", apiVersion, kind)
}

// decodeStrict decodes one YAML object into its API type, failing on any
// field the type does not have (a typo'd or misplaced field).
func decodeStrict(doc []byte) (object, error) {
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return object{}, err
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(js, &tm); err != nil {
		return object{}, err
	}
	v, err := newObject(tm.APIVersion, tm.Kind)
	if err != nil {
		return object{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return object{}, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	meta := v.(metav1.Object)
	return object{kind: tm.Kind, name: meta.GetName(), namespace: meta.GetNamespace(), obj: v}, nil
}

// build runs kustomize on dir and decodes every object it renders.
func build(t *testing.T, dir string) rendered {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	require.NoError(t, err, "kustomize build %s", dir)
	var r rendered
	for _, res := range m.Resources() {
		doc, err := res.AsYAML()
		require.NoError(t, err)
		o, err := decodeStrict(doc)
		require.NoError(t, err, "%s/%s in %s", res.GetKind(), res.GetName(), dir)
		r.objects = append(r.objects, o)
	}
	return r
}

func TestStrictDecodingRejectsTypos(t *testing.T) {
	good := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replicas: 1\n"
	_, err := decodeStrict([]byte(good))
	require.NoError(t, err)
	for _, bad := range []string{
		strings.Replace(good, "replicas", "replica", 1),
		strings.Replace(good, "metadata:", "metdata:", 1),
		"apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: x}\nspec:\n  scaleTargetRef: {name: x}\n  maxReplicas: 3\n",
		"apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n",
	} {
		_, err := decodeStrict([]byte(bad))
		require.Error(t, err, bad)
	}
}

func TestOverlays(t *testing.T) {
	for dir, external := range overlays {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			r := build(t, dir)
			checkWorkloads(t, r)
			checkSelectors(t, r)
			checkReferences(t, r, external)
			checkScaledObjects(t, r)
			checkStageConfig(t, r, filepath.Base(dir))
			checkIdentity(t, r)
			checkNetwork(t, r)
		})
	}
}

// TestHPAComponent builds the overlay for clusters without KEDA: the base
// with the HPA component instead of the KEDA one.
func TestHPAComponent(t *testing.T) {
	r := buildOverlay(t, `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: newsflow
resources: [%[1]s/base, %[1]s/nats]
components: [%[1]s/components/sink-sqlite, %[1]s/components/hpa]
secretGenerator:
  - name: newsflow-nats-users
    literals: [fetcher=a, normalizer=b, tagger=c, sink=d, ops=e, sys=f]
  - name: newsflow-api-tokens
    literals: [reader=g]
configMapGenerator:
  - name: newsflow-feeds
    literals: ["feeds.txt=https://example.com/feed.xml"]
images:
  - {name: newsflow/fetcher, newTag: "1.0"}
  - {name: newsflow/normalizer, newTag: "1.0"}
  - {name: newsflow/tagger, newTag: "1.0"}
  - {name: newsflow/sink, newTag: "1.0"}
`)
	checkWorkloads(t, r)
	checkSelectors(t, r)
	checkReferences(t, r, nil)
	require.Empty(t, r.all("ScaledObject"))
	hpas := r.all("HorizontalPodAutoscaler")
	require.Len(t, hpas, len(stageInputs))
	for _, o := range hpas {
		h := o.obj.(*autoscalingv2.HorizontalPodAutoscaler)
		dep, ok := r.find(h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name)
		require.True(t, ok, "HPA %s targets a missing %s", o.name, h.Spec.ScaleTargetRef.Name)
		require.Nil(t, dep.obj.(*appsv1.Deployment).Spec.Replicas,
			"Deployment %s: the HPA owns its replicas", h.Spec.ScaleTargetRef.Name)
		require.Contains(t, stageInputs, h.Spec.ScaleTargetRef.Name)
	}
}

// buildOverlay builds an overlay of the test's own, kust, in which %[1]s
// names the repository's k8s directory.
func buildOverlay(t *testing.T, kust string) rendered {
	t.Helper()
	abs, err := filepath.Abs("k8s")
	require.NoError(t, err)
	dir := t.TempDir()
	// kustomize takes no absolute paths: name the repository's relatively.
	k8s, err := filepath.Rel(dir, abs)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(fmt.Sprintf(kust, k8s)), 0o644))
	return build(t, dir)
}

// podTemplate returns the pod template of a workload.
func podTemplate(o object) (*corev1.PodTemplateSpec, *metav1.LabelSelector, bool) {
	switch w := o.obj.(type) {
	case *appsv1.Deployment:
		return &w.Spec.Template, w.Spec.Selector, true
	case *appsv1.StatefulSet:
		return &w.Spec.Template, w.Spec.Selector, true
	}
	return nil, nil, false
}

func workloads(r rendered) []object {
	return append(r.all("Deployment"), r.all("StatefulSet")...)
}

// checkWorkloads: every container has probes on a port it declares,
// requests and limits, and a locked-down security context; every workload
// spreads over nodes and has a PodDisruptionBudget.
func checkWorkloads(t *testing.T, r rendered) {
	for _, s := range stages {
		_, ok := r.find("Deployment", s)
		require.True(t, ok, "no Deployment %s", s)
	}
	for _, o := range workloads(r) {
		tpl, _, _ := podTemplate(o)
		pod := tpl.Spec
		where := o.kind + "/" + o.name
		require.NotNil(t, pod.SecurityContext, where)
		require.True(t, pod.SecurityContext.RunAsNonRoot != nil && *pod.SecurityContext.RunAsNonRoot, "%s: runAsNonRoot", where)
		require.NotEmpty(t, pod.TopologySpreadConstraints, "%s: topology spread", where)
		require.NotNil(t, pod.TerminationGracePeriodSeconds, where)
		mounts := map[string]bool{}
		for _, v := range pod.Volumes {
			mounts[v.Name] = true
		}
		if sts, ok := o.obj.(*appsv1.StatefulSet); ok {
			for _, c := range sts.Spec.VolumeClaimTemplates {
				mounts[c.Name] = true
			}
		}
		for _, c := range pod.Containers {
			where := where + " container " + c.Name
			require.Regexp(t, `(:[\w][\w.-]*|@sha256:[0-9a-f]{64})$`, c.Image, "%s: an image without a tag runs :latest", where)
			require.NotRegexp(t, `:latest$`, c.Image, where)
			ports := map[string]bool{}
			for _, p := range c.Ports {
				ports[p.Name] = true
			}
			for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
				require.NotNil(t, p, "%s: %s probe", where, name)
				require.NotNil(t, p.HTTPGet, "%s: %s probe is not HTTP", where, name)
				require.True(t, ports[p.HTTPGet.Port.String()], "%s: %s probe port %s not declared", where, name, p.HTTPGet.Port.String())
			}
			for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				req, lim := c.Resources.Requests[res], c.Resources.Limits[res]
				require.False(t, req.IsZero(), "%s: no %s request", where, res)
				require.False(t, lim.IsZero(), "%s: no %s limit", where, res)
				require.True(t, req.Cmp(lim) <= 0, "%s: %s request above limit", where, res)
			}
			sc := c.SecurityContext
			require.NotNil(t, sc, where)
			require.True(t, sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem, "%s: readOnlyRootFilesystem", where)
			require.True(t, sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation, "%s: allowPrivilegeEscalation", where)
			require.NotNil(t, sc.Capabilities, where)
			require.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop, "%s: capabilities", where)
			require.Empty(t, sc.Capabilities.Add, where)
			for _, m := range c.VolumeMounts {
				require.True(t, mounts[m.Name], "%s: mount of unknown volume %s", where, m.Name)
			}
		}
		pdb := false
		for _, p := range r.all("PodDisruptionBudget") {
			sel, err := metav1.LabelSelectorAsSelector(p.obj.(*policyv1.PodDisruptionBudget).Spec.Selector)
			require.NoError(t, err)
			pdb = pdb || sel.Matches(labels.Set(tpl.Labels))
		}
		require.True(t, pdb, "%s: no PodDisruptionBudget selects its pods", where)
	}
}

// checkSelectors: workloads select their own pods; every Service and
// PodDisruptionBudget selects some workload's pods, and a Service's target
// ports are ports those pods declare.
func checkSelectors(t *testing.T, r rendered) {
	for _, o := range workloads(r) {
		tpl, sel, _ := podTemplate(o)
		s, err := metav1.LabelSelectorAsSelector(sel)
		require.NoError(t, err)
		require.False(t, s.Empty(), "%s/%s: empty selector", o.kind, o.name)
		require.True(t, s.Matches(labels.Set(tpl.Labels)), "%s/%s: selector %s does not match pod labels %v", o.kind, o.name, s, tpl.Labels)
	}
	for _, o := range r.all("Service") {
		svc := o.obj.(*corev1.Service)
		sel := labels.SelectorFromSet(svc.Spec.Selector)
		var matched []*corev1.PodTemplateSpec
		for _, w := range workloads(r) {
			if tpl, _, _ := podTemplate(w); sel.Matches(labels.Set(tpl.Labels)) {
				matched = append(matched, tpl)
			}
		}
		require.NotEmpty(t, matched, "Service %s selects no pods", o.name)
		for _, p := range svc.Spec.Ports {
			for _, tpl := range matched {
				found := false
				for _, c := range tpl.Spec.Containers {
					for _, cp := range c.Ports {
						found = found || cp.Name == p.TargetPort.String() || fmt.Sprint(cp.ContainerPort) == p.TargetPort.String()
					}
				}
				require.True(t, found, "Service %s port %s: no container port %s", o.name, p.Name, p.TargetPort.String())
			}
		}
	}
}

// checkReferences: every ConfigMap, Secret and claim a pod uses is in the
// build, or is a Secret the overlay documents as created by the platform.
func checkReferences(t *testing.T, r rendered, external []string) {
	has := func(kind, name string) bool {
		if _, ok := r.find(kind, name); ok {
			return true
		}
		return kind == "Secret" && slices.Contains(external, name)
	}
	for _, o := range workloads(r) {
		tpl, _, _ := podTemplate(o)
		for _, v := range tpl.Spec.Volumes {
			switch {
			case v.ConfigMap != nil:
				require.True(t, has("ConfigMap", v.ConfigMap.Name), "%s: ConfigMap %s", o.name, v.ConfigMap.Name)
			case v.Secret != nil:
				require.True(t, has("Secret", v.Secret.SecretName), "%s: Secret %s", o.name, v.Secret.SecretName)
			case v.PersistentVolumeClaim != nil:
				require.True(t, has("PersistentVolumeClaim", v.PersistentVolumeClaim.ClaimName), "%s: claim %s", o.name, v.PersistentVolumeClaim.ClaimName)
			}
		}
		for _, c := range tpl.Spec.Containers {
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					ref := e.ValueFrom.SecretKeyRef
					require.True(t, has("Secret", ref.Name), "%s: Secret %s", o.name, ref.Name)
					if s, ok := r.find("Secret", ref.Name); ok {
						sec := s.obj.(*corev1.Secret)
						_, inData := sec.Data[ref.Key]
						_, inString := sec.StringData[ref.Key]
						require.True(t, inData || inString, "%s: Secret %s has no key %s", o.name, ref.Name, ref.Key)
					}
				}
			}
		}
	}
}

// checkScaledObjects validates the KEDA objects with KEDA's own checks (the
// ones its admission webhook runs that need no cluster) and checks that each
// scales a consuming stage on its own durable consumer, through a NATS
// monitoring endpoint that exists in the build.
func checkScaledObjects(t *testing.T, r rendered) {
	sos := r.all("ScaledObject")
	require.Len(t, sos, len(stageInputs))
	account := natsAccount(t)
	for _, o := range sos {
		so := o.obj.(*kedav1alpha1.ScaledObject)
		require.NoError(t, kedav1alpha1.CheckReplicaCountBoundsAreValid(so), o.name)
		require.NoError(t, kedav1alpha1.CheckFallbackValid(so), o.name)
		require.NoError(t, kedav1alpha1.ValidateTriggers(so.Spec.Triggers), o.name)
		target := so.Spec.ScaleTargetRef.Name
		dep, ok := r.find("Deployment", target)
		require.True(t, ok, "ScaledObject %s targets a missing Deployment %s", o.name, target)
		require.Nil(t, dep.obj.(*appsv1.Deployment).Spec.Replicas,
			"Deployment %s: KEDA owns its replicas; a replicas field resets them on every apply", target)
		input, ok := stageInputs[target]
		require.True(t, ok, "ScaledObject %s scales %s, which has no consumer", o.name, target)
		require.Len(t, so.Spec.Triggers, 1, o.name)
		tr := so.Spec.Triggers[0]
		require.Equal(t, "nats-jetstream", tr.Type, o.name)
		md := tr.Metadata
		require.Equal(t, stage.StreamFor(input), md["stream"], o.name)
		require.Equal(t, target, md["consumer"], "%s: the durable consumer is named after the stage", o.name)
		require.Equal(t, account, md["account"], o.name)
		require.Regexp(t, `^[1-9][0-9]*$`, md["lagThreshold"], o.name)
		host, port, found := strings.Cut(md["natsServerMonitoringEndpoint"], ":")
		require.True(t, found, o.name)
		svcName, rest, _ := strings.Cut(host, ".")
		require.Equal(t, o.namespace+".svc.cluster.local", rest, "%s: endpoint in another namespace", o.name)
		svc, ok := r.find("Service", svcName)
		require.True(t, ok, "%s: no Service %s", o.name, svcName)
		portOK := false
		for _, p := range svc.obj.(*corev1.Service).Spec.Ports {
			portOK = portOK || fmt.Sprint(p.Port) == port
		}
		require.True(t, portOK, "%s: Service %s has no port %s", o.name, svcName, port)
		// The monitoring port of the NATS configuration.
		require.Contains(t, readFile(t, "k8s/nats/nats.conf"), "http_port: "+port)
	}
}

// natsAccount is the account the newsflow users live in.
func natsAccount(t *testing.T) string {
	m := regexp.MustCompile(`(?m)^accounts \{\n\s+(\w+) \{`).FindStringSubmatch(readFile(t, "k8s/nats/nats.conf"))
	require.NotNil(t, m, "no account in nats.conf")
	return m[1]
}

// checkStageConfig runs each stage's container configuration (args, and
// NEWSFLOW_* variables) through the service's real flag parsing and
// validation, and checks images, ports and annotations against the
// Dockerfile and the flags.
func checkStageConfig(t *testing.T, r rendered, overlay string) {
	dockerfile := readFile(t, "docker/Dockerfile")
	require.Contains(t, dockerfile, "ARG SERVICE\n")
	require.Contains(t, dockerfile, "./services/${SERVICE}/cmd/${SERVICE}")
	user := regexp.MustCompile(`(?m)^USER (\d+)`).FindStringSubmatch(dockerfile)
	require.NotNil(t, user, "Dockerfile sets no numeric USER")
	store := regexp.MustCompile(`(?m)^\s*max_file_store:\s*(\S+)`).FindStringSubmatch(readFile(t, "k8s/nats/nats.conf"))
	require.NotNil(t, store, "nats.conf sets no max_file_store")
	var maxStore stage.ByteSize
	require.NoError(t, maxStore.Set(store[1]))
	for _, name := range stages {
		o, _ := r.find("Deployment", name)
		d := o.obj.(*appsv1.Deployment)
		pod := d.Spec.Template.Spec
		require.Len(t, pod.Containers, 1, name)
		c := pod.Containers[0]
		require.Equal(t, name, c.Name)
		// The image is newsflow/<service>, the name the Dockerfile builds
		// with SERVICE=<service>, and that service's command exists.
		repo, _, _ := strings.Cut(c.Image, ":")
		require.True(t, repo == "newsflow/"+name || strings.HasSuffix(repo, "/newsflow/"+name), "%s: image %s", name, c.Image)
		require.DirExists(t, filepath.Join("..", "services", name, "cmd", name))
		require.Equal(t, user[1], fmt.Sprint(*pod.SecurityContext.RunAsUser), "%s: runAsUser differs from the Dockerfile's USER", name)

		cfg := runServiceConfig(t, r, name, c)
		// The port -http listens on is the container's, the probes' and
		// the scrape annotation's.
		_, port, err := net.SplitHostPort(cfg.HTTPAddr)
		require.NoError(t, err, name)
		require.Equal(t, port, fmt.Sprint(c.Ports[0].ContainerPort), name)
		require.Equal(t, port, d.Spec.Template.Annotations["prometheus.io/port"], name)
		require.Equal(t, "true", d.Spec.Template.Annotations["prometheus.io/scrape"], name)
		require.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path, name)
		require.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path, name)
		require.Greater(t, *pod.TerminationGracePeriodSeconds, int64(cfg.ShutdownTimeout.Seconds()), "%s: grace period not above -shutdown-timeout", name)
		// Each stage connects as its own NATS user.
		require.Contains(t, cfg.NATSURL, "nats://"+name+":", name)
		if overlay == "prod" {
			require.Equal(t, 3, cfg.StreamReplicas, "%s: streams are R3 on the cluster", name)
		}
		// The three article streams' bounds fit in NATS's storage with
		// room for the rest (dead letters, key-value buckets, stories):
		// a full store would refuse every publish, history or not.
		require.Positive(t, cfg.StreamMaxBytes, "%s: article streams unbounded", name)
		require.LessOrEqual(t, 3*float64(cfg.StreamMaxBytes), 0.95*float64(maxStore), "%s: 3 × -stream-max-bytes over max_file_store %s", name, store[1])
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// readLines returns the non-empty, non-comment lines of a file.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	require.NoError(t, sc.Err())
	return out
}
