package page

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// loopback lets the tests reach their own servers on 127.0.0.0/8.
var loopback = NetPolicy{Allow: mustPrefixes("127.0.0.0/8")}

// fakeResolver answers from a fixed table, so a test can make a public-
// looking name resolve to a private address without any DNS.
type fakeResolver map[string][]string

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	addrs, ok := f[strings.ToLower(host)]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, a := range addrs {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

// ssrfSpellings of 127.0.0.1 (with %s for the port) that must be refused
// by default and, with loopback allowed, must reach the server on
// 127.0.0.1: the second half proves each spelling really means 127.0.0.1.
var ssrfSpellings = []string{
	"http://127.0.0.1:%s/",
	"http://2130706433:%s/",          // decimal
	"http://0x7f000001:%s/",          // hex, one part
	"http://0x7f.0x0.0x0.0x1:%s/",    // hex, dotted
	"http://0177.0.0.1:%s/",          // octal
	"http://0177.0000.0000.0001:%s/", // octal, padded
	"http://127.1:%s/",               // two parts
	"http://127.0.1:%s/",             // three parts
	"http://[::ffff:127.0.0.1]:%s/",  // IPv4-mapped IPv6
	"http://[::ffff:7f00:1]:%s/",     // IPv4-mapped IPv6, hex
	"http://LOCALHOST-NAME:%s/",      // a name the resolver maps to loopback
}

func TestSSRFSpellingsOfLoopback(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("inside"))
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	res := fakeResolver{"localhost-name": {"127.0.0.1"}}

	strict := NewClient(ClientConfig{HostRate: -1, Resolver: res})
	open := NewClient(ClientConfig{HostRate: -1, Resolver: res, Policy: loopback})
	for _, spelling := range ssrfSpellings {
		u := fmt.Sprintf(spelling, port)
		t.Run(u, func(t *testing.T) {
			before := hits.Load()
			_, err := strict.Get(t.Context(), u, Conditional{})
			require.ErrorIs(t, err, ErrForbiddenAddress)
			require.ErrorIs(t, err, ErrPermanent)
			require.Equal(t, ClassPolicy, ErrorClass(err))
			require.Equal(t, before, hits.Load(), "the refused request reached the server")

			resp, err := open.Get(t.Context(), u, Conditional{})
			require.NoError(t, err)
			require.Equal(t, "inside", string(resp.Body))
		})
	}
}

// Internal addresses other than loopback are refused before any packet
// leaves: none of these is dialled.
func TestSSRFInternalAddresses(t *testing.T) {
	res := fakeResolver{
		"intranet.example": {"10.1.2.3"},
		"metadata.example": {"169.254.169.254"},
		"mixed.example":    {"192.168.1.1", "fd00::1"},
	}
	c := NewClient(ClientConfig{HostRate: -1, Resolver: res, Timeout: 2e9})
	for _, u := range []string{
		"http://10.0.0.1/", "http://172.16.5.4/", "http://192.168.0.1/",
		"http://100.64.0.1/", "http://100.100.100.200/", // CGNAT, Alibaba metadata
		"http://169.254.169.254/latest/meta-data/", "http://0.0.0.0/", "http://0/",
		"http://[::1]/", "http://[::]/", "http://[fe80::1]/", "http://[fd00:ec2::254]/", "http://[fc00::1]/",
		"http://[::ffff:10.0.0.1]/", "http://[::ffff:169.254.169.254]/", "http://[::127.0.0.1]/",
		"http://[64:ff9b::a00:1]/", "http://[2002:7f00:1::]/",
		"http://0xa9fea9fe/", "http://025177524776/", // 169.254.169.254 in hex and octal
		"http://intranet.example/", "http://metadata.example/", "http://mixed.example/",
		"https://intranet.example/", "http://224.0.0.1/", "http://255.255.255.255/",
	} {
		t.Run(u, func(t *testing.T) {
			_, err := c.Get(t.Context(), u, Conditional{})
			require.ErrorIs(t, err, ErrForbiddenAddress)
			require.Equal(t, ClassPolicy, ErrorClass(err))
		})
	}
}

// A redirect is checked like the first request: to 127.0.0.1 by address,
// and to a name that resolves to a private address.
func TestSSRFRedirects(t *testing.T) {
	var inner atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.Add(1)
		w.Header().Set("Content-Type", "text/plain")
	}))
	defer target.Close()
	_, port, _ := net.SplitHostPort(target.Listener.Addr().String())

	// The first hop listens on 127.0.0.2, the only address allowed.
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	}
	front := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	}))
	front.Listener = ln
	front.Start()
	defer front.Close()

	res := fakeResolver{"rebind.example": {"127.0.0.1"}, "front.example": {"127.0.0.2"}}
	c := NewClient(ClientConfig{HostRate: -1, Resolver: res, Policy: NetPolicy{Allow: mustPrefixes("127.0.0.2/32")}})
	for _, to := range []string{
		"http://127.0.0.1:" + port + "/",
		"http://2130706433:" + port + "/",
		"http://rebind.example:" + port + "/",
	} {
		t.Run(to, func(t *testing.T) {
			_, err := c.Get(t.Context(), "http://front.example:"+strings.Split(ln.Addr().String(), ":")[1]+"/?to="+to, Conditional{})
			require.ErrorIs(t, err, ErrForbiddenAddress)
		})
	}
	require.Zero(t, inner.Load(), "a redirect reached the forbidden server")
}

func TestHostAddr(t *testing.T) {
	for host, want := range map[string]string{
		"2130706433": "127.0.0.1", "0x7f000001": "127.0.0.1", "0177.0.0.1": "127.0.0.1",
		"127.1": "127.0.0.1", "10.1": "10.0.0.1", "0": "0.0.0.0", "[::ffff:10.0.0.1]": "10.0.0.1",
		"0xA9.0376.0xa9fe": "169.254.169.254", "1.2.3.4.": "1.2.3.4",
	} {
		got, ok := HostAddr(host)
		require.True(t, ok, host)
		require.Equal(t, want, got.String(), host)
	}
	for _, host := range []string{"example.com", "1.2.3.4.5", "256.1.1.1", "08.1.1.1", "0x", "1.2.3.256", "4294967296", "x1"} {
		_, ok := HostAddr(host)
		require.False(t, ok, host)
	}
}

func TestParseAllowNets(t *testing.T) {
	got, err := ParseAllowNets("127.0.0.0/8, 10.1.2.3,fd00::/8")
	require.NoError(t, err)
	require.Equal(t, mustPrefixes("127.0.0.0/8", "10.1.2.3/32", "fd00::/8"), got)
	_, err = ParseAllowNets("127.0.0.0/33,nope")
	require.ErrorContains(t, err, "127.0.0.0/33")
	require.ErrorContains(t, err, "nope")
}

// Requests to one host wait for each other beyond HostConcurrency.
func TestHostConcurrency(t *testing.T) {
	var inFlight, peak atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		w.Header().Set("Content-Type", "text/plain")
	}))
	defer srv.Close()
	c := NewClient(ClientConfig{Policy: loopback, HostRate: -1, HostConcurrency: 2})
	done := make(chan error, 5)
	for range 5 {
		go func() {
			_, err := c.Get(t.Context(), srv.URL, Conditional{})
			done <- err
		}()
	}
	require.Eventually(t, func() bool { return inFlight.Load() == 2 }, 5e9, 1e7)
	close(release)
	for range 5 {
		require.NoError(t, <-done)
	}
	require.Equal(t, int32(2), peak.Load())
}

func FuzzHostAddr(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "2130706433", "0x7f.1", "0177.0.0.01", "[::ffff:10.0.0.1]", "example.com", "1.2.3.4.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		a, ok := HostAddr(host)
		if !ok {
			return
		}
		require.True(t, a.IsValid())
		// A dotted quad in plain decimal reads as itself.
		if p, err := netip.ParseAddr(host); err == nil && p.Is4() {
			require.Equal(t, p, a)
		}
	})
}

// One allowed service (address and port) does not open its whole address.
func TestAllowAddrPort(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
	}))
	defer srv.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("a service that was not allowed was reached")
	}))
	defer other.Close()
	ap := netip.MustParseAddrPort(srv.Listener.Addr().String())
	c := NewClient(ClientConfig{HostRate: -1, Policy: NetPolicy{AllowAddrPorts: []netip.AddrPort{ap}}})
	_, err := c.Get(t.Context(), srv.URL, Conditional{})
	require.NoError(t, err)
	_, err = c.Get(t.Context(), other.URL, Conditional{})
	require.ErrorIs(t, err, ErrForbiddenAddress)
}
