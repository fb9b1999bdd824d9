package deploy

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8slabels "k8s.io/apimachinery/pkg/labels"
)

// checkIdentity: every workload runs as its own ServiceAccount, which
// exists and mounts no API token; the namespace enforces the restricted
// Pod Security profile.
func checkIdentity(t *testing.T, r rendered) {
	for _, o := range workloads(r) {
		tpl, _, _ := podTemplate(o)
		require.Equal(t, o.name, tpl.Spec.ServiceAccountName, "%s/%s runs as its own ServiceAccount", o.kind, o.name)
		sa, ok := r.find("ServiceAccount", o.name)
		require.True(t, ok, "no ServiceAccount %s", o.name)
		auto := sa.obj.(*corev1.ServiceAccount).AutomountServiceAccountToken
		require.True(t, auto != nil && !*auto, "ServiceAccount %s mounts no token", o.name)
	}
	nss := r.all("Namespace")
	require.Len(t, nss, 1)
	labels := nss[0].obj.(*corev1.Namespace).Labels
	require.Equal(t, "restricted", labels["pod-security.kubernetes.io/enforce"])
}

// peer is one end of a connection: a pod (namespace, its labels, the
// namespace's labels, its container ports by name) or an address outside
// the cluster.
type peer struct {
	ns        string
	nsLabels  map[string]string
	podLabels map[string]string
	ports     map[string]int32
	ip        netip.Addr // set for an address outside the cluster
}

func podPeer(ns string, labels map[string]string) peer {
	return peer{ns: ns, nsLabels: map[string]string{"kubernetes.io/metadata.name": ns}, podLabels: labels}
}

// workloadPeer is a pod of the workload o in namespace ns.
func workloadPeer(o object, ns string) peer {
	tpl, _, _ := podTemplate(o)
	p := podPeer(ns, tpl.Labels)
	p.ports = map[string]int32{}
	for _, c := range tpl.Spec.Containers {
		for _, cp := range c.Ports {
			p.ports[cp.Name] = cp.ContainerPort
		}
	}
	return p
}

func selects(t *testing.T, sel *metav1.LabelSelector, labels map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	require.NoError(t, err)
	return s.Matches(k8slabels.Set(labels))
}

// peerMatches reports whether other matches one of a rule's peers, for a
// policy in namespace ns (an empty list matches everything).
func peerMatches(t *testing.T, peers []networkingv1.NetworkPolicyPeer, ns string, other peer) bool {
	if len(peers) == 0 {
		return true
	}
	for _, p := range peers {
		if p.IPBlock != nil {
			if !other.ip.IsValid() {
				continue
			}
			in := netip.MustParsePrefix(p.IPBlock.CIDR).Contains(other.ip)
			for _, e := range p.IPBlock.Except {
				in = in && !netip.MustParsePrefix(e).Contains(other.ip)
			}
			if in {
				return true
			}
			continue
		}
		if other.ip.IsValid() {
			continue
		}
		nsOK := other.ns == ns
		if p.NamespaceSelector != nil {
			nsOK = selects(t, p.NamespaceSelector, other.nsLabels)
		}
		podOK := p.PodSelector == nil || selects(t, p.PodSelector, other.podLabels)
		if nsOK && podOK {
			return true
		}
	}
	return false
}

// portMatches: a rule's ports (none: all) against a destination port, by
// number or by the destination's container port name.
func portMatches(ports []networkingv1.NetworkPolicyPort, dst peer, port int32) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		if p.Port == nil {
			return true
		}
		if p.Port.IntVal == port && p.Port.StrVal == "" || p.Port.StrVal != "" && dst.ports[p.Port.StrVal] == port {
			return true
		}
	}
	return false
}

// allowed evaluates the rendered NetworkPolicies (all in namespace ns) as
// Kubernetes does: a pod selected by a policy of a direction is isolated
// in that direction and takes only what a selecting policy's rule allows.
// The connection needs both src's egress and dst's ingress.
func allowed(t *testing.T, r rendered, ns string, src, dst peer, port int32) bool {
	return admits(t, r, ns, networkingv1.PolicyTypeEgress, src, dst, dst, port) &&
		admits(t, r, ns, networkingv1.PolicyTypeIngress, dst, src, dst, port)
}

// admits reports whether self's policies of direction typ let it talk with
// other on dst's port.
func admits(t *testing.T, r rendered, ns string, typ networkingv1.PolicyType, self, other, dst peer, port int32) bool {
	if self.ip.IsValid() || self.ns != ns {
		return true // outside the namespace: not ours to police
	}
	isolated := false
	for _, o := range r.all("NetworkPolicy") {
		np := o.obj.(*networkingv1.NetworkPolicy)
		if !slices.Contains(np.Spec.PolicyTypes, typ) || !selects(t, &np.Spec.PodSelector, self.podLabels) {
			continue
		}
		isolated = true
		if typ == networkingv1.PolicyTypeEgress {
			for _, e := range np.Spec.Egress {
				if peerMatches(t, e.To, ns, other) && portMatches(e.Ports, dst, port) {
					return true
				}
			}
			continue
		}
		for _, i := range np.Spec.Ingress {
			if peerMatches(t, i.From, ns, other) && portMatches(i.Ports, dst, port) {
				return true
			}
		}
	}
	return !isolated
}

// checkNetwork: what must connect does, and nothing else does.
func checkNetwork(t *testing.T, r rendered) {
	nats, ok := r.find("StatefulSet", "nats")
	require.True(t, ok)
	ns := nats.namespace
	natsPod := workloadPeer(nats, ns)
	pods := map[string]peer{}
	for _, s := range stages {
		o, ok := r.find("Deployment", s)
		require.True(t, ok)
		pods[s] = workloadPeer(o, ns)
	}
	httpPort := func(s string) int32 { return pods[s].ports["http"] }
	dns := podPeer("kube-system", map[string]string{"k8s-app": "kube-dns"})
	monitoring := podPeer("monitoring", map[string]string{"app.kubernetes.io/name": "prometheus"})
	keda := podPeer("keda", map[string]string{"app": "keda-operator"})
	stranger := podPeer("default", map[string]string{"app": "something"})
	client := podPeer("default", map[string]string{"newsflow.io/api-client": "true"})
	internet := peer{ip: netip.MustParseAddr("93.184.215.14")}
	metadata := peer{ip: netip.MustParseAddr("169.254.169.254")}
	private := peer{ip: netip.MustParseAddr("10.1.2.3")}

	for _, s := range stages {
		require.True(t, allowed(t, r, ns, pods[s], natsPod, 4222), "%s -> NATS clients", s)
		require.True(t, allowed(t, r, ns, pods[s], dns, 53), "%s -> DNS", s)
		require.False(t, allowed(t, r, ns, pods[s], natsPod, 6222), "%s -> NATS routes", s)
		require.False(t, allowed(t, r, ns, pods[s], natsPod, 8222), "%s -> NATS monitoring", s)
		require.True(t, allowed(t, r, ns, monitoring, pods[s], httpPort(s)), "Prometheus -> %s metrics", s)
		require.False(t, allowed(t, r, ns, stranger, pods[s], httpPort(s)), "another namespace -> %s", s)
		if s != "fetcher" {
			require.False(t, allowed(t, r, ns, pods[s], internet, 443), "%s -> the internet", s)
		}
	}
	require.False(t, allowed(t, r, ns, pods["normalizer"], pods["sink"], httpPort("sink")), "normalizer -> sink")
	require.True(t, allowed(t, r, ns, natsPod, natsPod, 6222), "NATS routes")
	require.False(t, allowed(t, r, ns, natsPod, internet, 443), "NATS -> the internet")
	require.True(t, allowed(t, r, ns, keda, natsPod, 8222), "KEDA -> NATS monitoring")
	require.True(t, allowed(t, r, ns, monitoring, natsPod, 7777), "Prometheus -> NATS exporter")
	require.False(t, allowed(t, r, ns, stranger, natsPod, 4222), "another namespace -> NATS")
	require.True(t, allowed(t, r, ns, client, pods["sink"], httpPort("sink")), "API client -> sink")
	require.True(t, allowed(t, r, ns, pods["fetcher"], internet, 443), "fetcher -> the internet")
	require.False(t, allowed(t, r, ns, pods["fetcher"], metadata, 80), "fetcher -> cloud metadata")
	require.False(t, allowed(t, r, ns, pods["fetcher"], private, 80), "fetcher -> private ranges")
	if _, ok := r.find("NetworkPolicy", "sink-to-postgres"); ok {
		require.True(t, allowed(t, r, ns, pods["sink"], private, 5432), "sink -> PostgreSQL")
		require.False(t, allowed(t, r, ns, pods["normalizer"], private, 5432), "normalizer -> PostgreSQL")
	}
}
