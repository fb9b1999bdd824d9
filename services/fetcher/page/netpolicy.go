package page

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
)

// ErrForbiddenAddress: the URL's host is, or resolves to, an address the
// network policy refuses (loopback, private, link-local, unique-local,
// CGNAT, cloud metadata, ...). It also matches ErrPermanent.
var ErrForbiddenAddress = errors.New("address refused by network policy")

// deniedNets are refused unless a NetPolicy allows them explicitly: every
// range that is not the public internet, where a fetcher fed untrusted URLs
// could reach internal services (SSRF).
var deniedNets = mustPrefixes(
	"0.0.0.0/8",       // "this network"; 0.0.0.0 reaches the local host
	"10.0.0.0/8",      // private
	"100.64.0.0/10",   // CGNAT (also Alibaba's metadata 100.100.100.200)
	"127.0.0.0/8",     // loopback
	"169.254.0.0/16",  // link-local, cloud metadata 169.254.169.254
	"172.16.0.0/12",   // private
	"192.0.0.0/24",    // IETF protocol assignments (Oracle metadata 192.0.0.192)
	"192.0.2.0/24",    // documentation
	"192.88.99.0/24",  // 6to4 relay anycast
	"192.168.0.0/16",  // private
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // documentation
	"203.0.113.0/24",  // documentation
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, broadcast
	"::/128",          // unspecified
	"::1/128",         // loopback
	"64:ff9b::/96",    // NAT64: the embedded IPv4 is checked too
	"64:ff9b:1::/48",  // local-use NAT64
	"100::/64",        // discard
	"2001:db8::/32",   // documentation
	"2002::/16",       // 6to4: the embedded IPv4 is checked too
	"fc00::/7",        // unique-local (AWS metadata fd00:ec2::254)
	"fe80::/10",       // link-local
	"fec0::/10",       // site-local (deprecated)
	"ff00::/8",        // multicast
)

func mustPrefixes(cidrs ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(cidrs))
	for i, c := range cidrs {
		out[i] = netip.MustParsePrefix(c)
	}
	return out
}

// NetPolicy decides which IP addresses the client may connect to. The zero
// policy refuses every denied range; Allow lists networks let through anyway
// (tests, intranet feeds, the all-in-one's own sample site).
type NetPolicy struct {
	Allow []netip.Prefix
	// AllowAddrPorts lets through single services: one address and port
	// each (the all-in-one's own sample site), not the whole address.
	AllowAddrPorts []netip.AddrPort
}

// CheckAddrPort is Check for a connection to ap: allowed if ap is one of
// AllowAddrPorts, else by its address.
func (p NetPolicy) CheckAddrPort(ap netip.AddrPort) error {
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	for _, a := range p.AllowAddrPorts {
		if netip.AddrPortFrom(a.Addr().Unmap(), a.Port()) == ap {
			return nil
		}
	}
	return p.Check(ap.Addr())
}

// ParseAllowNets parses "CIDR[,CIDR…]"; a bare address is a /32 or /128.
func ParseAllowNets(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	var errs []error
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil {
				errs = append(errs, fmt.Errorf("%q is neither a CIDR nor an address", part))
				continue
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			errs = append(errs, fmt.Errorf("%q: %w", part, err))
			continue
		}
		out = append(out, p.Masked())
	}
	return out, errors.Join(errs...)
}

// Check returns nil if ip may be connected to, else an error matching
// ErrForbiddenAddress and ErrPermanent.
func (p NetPolicy) Check(ip netip.Addr) error {
	ip = ip.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	for _, a := range p.Allow {
		if a.Contains(ip) {
			return nil
		}
	}
	if ip.IsUnspecified() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() {
		return forbidden(ip)
	}
	for _, n := range deniedNets {
		if n.Contains(ip) {
			return forbidden(ip)
		}
	}
	if v4, ok := embeddedIPv4(ip); ok {
		return p.Check(v4)
	}
	return nil
}

func forbidden(ip netip.Addr) error {
	return fmt.Errorf("%w: %w: %s", ErrPermanent, ErrForbiddenAddress, ip)
}

// embeddedIPv4 returns the IPv4 address carried inside an IPv4-compatible
// (::a.b.c.d), NAT64 (64:ff9b::/96) or 6to4 (2002::/16) IPv6 address. They
// are denied above already; this keeps an allowed IPv4 network usable
// through NAT64 only if named explicitly.
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	if !ip.Is6() {
		return netip.Addr{}, false
	}
	b := ip.As16()
	switch {
	case b[0] == 0x20 && b[1] == 0x02:
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	case [12]byte(b[:12]) == [12]byte{0x00, 0x64, 0xff, 0x9b}:
		return netip.AddrFrom4([4]byte(b[12:])), true
	case [12]byte(b[:12]) == [12]byte{}:
		return netip.AddrFrom4([4]byte(b[12:])), true
	}
	return netip.Addr{}, false
}

// HostAddr reads host as an IP address in every spelling a resolver or
// browser accepts: IPv6 (with or without brackets, zone dropped) and IPv4
// as dotted decimal, or as inet_aton does, with 1 to 4 parts each in
// decimal, octal (leading 0) or hex (leading 0x): 2130706433, 0x7f000001,
// 0177.0.0.1, 127.1. A host that is a name returns false.
func HostAddr(host string) (netip.Addr, bool) {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if i := strings.IndexByte(host, '%'); i >= 0 {
		host = host[:i]
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap(), true
	}
	return parseInetAton(strings.TrimSuffix(host, "."))
}

func parseInetAton(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) == 0 || len(parts) > 4 {
		return netip.Addr{}, false
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		base := 10
		switch {
		case strings.HasPrefix(p, "0x") || strings.HasPrefix(p, "0X"):
			base, p = 16, p[2:]
		case len(p) > 1 && p[0] == '0':
			base, p = 8, p[1:]
		}
		n, err := strconv.ParseUint(p, base, 32)
		if err != nil || (p == "" && base != 8) {
			return netip.Addr{}, false
		}
		nums[i] = n
	}
	// The last part fills the remaining bytes; the others are one byte each.
	var v uint64
	for i, n := range nums[:len(nums)-1] {
		if n > 0xff {
			return netip.Addr{}, false
		}
		v |= n << (24 - 8*i)
	}
	last := nums[len(nums)-1]
	if last >= 1<<(8*(5-len(nums))) {
		return netip.Addr{}, false
	}
	v |= last
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// Resolver looks up a host's addresses; *net.Resolver is one. Tests
// substitute their own to make a name resolve to a private address.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// guardedDialer connects only to addresses the policy allows. It resolves
// the name itself and dials the checked address, so the address checked is
// the address connected to: a DNS answer that changes between a check and
// the connection (rebinding) cannot slip through, and every hop of a
// redirect goes through here.
type guardedDialer struct {
	policy   NetPolicy
	resolver Resolver
	dialer   *net.Dialer
}

func newGuardedDialer(p NetPolicy, r Resolver, d *net.Dialer) *guardedDialer {
	g := &guardedDialer{policy: p, resolver: r, dialer: d}
	// A second check at the socket, on the address actually dialled.
	d.Control = func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: %w: unparseable address %q", ErrPermanent, ErrForbiddenAddress, address)
		}
		return p.CheckAddrPort(ap)
	}
	return g
}

func (g *guardedDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("bad port %q: %w", portStr, err)
	}
	var ips []netip.Addr
	if ip, ok := HostAddr(host); ok {
		ips = []netip.Addr{ip}
	} else if ips, err = g.resolver.LookupNetIP(ctx, "ip", host); err != nil {
		return nil, err
	}
	var errs []error
	for _, ip := range ips {
		ap := netip.AddrPortFrom(ip.Unmap(), uint16(port))
		if err := g.policy.CheckAddrPort(ap); err != nil {
			errs = append(errs, err)
			continue
		}
		conn, err := g.dialer.DialContext(ctx, network, ap.String())
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	return nil, errors.Join(errs...)
}
