package cli

import (
	"fmt"
	"net/netip"
	"net/url"

	"github.com/newsflow/newsflow/services/fetcher/fetcher"
)

// allowSampleSite lets the fetcher reach the all-in-one's own sample site,
// which listens on loopback, a network the fetcher otherwise refuses: only
// that one address is allowed, not -allow-net's loopback as a whole. The
// per-host rate limit is lifted for it too (it is our own server), unless
// -host-rate was changed from its default.
func allowSampleSite(o *fetcher.Options, siteURL string) error {
	u, err := url.Parse(siteURL)
	if err != nil {
		return fmt.Errorf("sample site url: %w", err)
	}
	ip, err := netip.ParseAddr(u.Hostname())
	if err != nil {
		return fmt.Errorf("sample site address: %w", err)
	}
	o.AllowNet = append(o.AllowNet, netip.PrefixFrom(ip, ip.BitLen()))
	if o.HostRate == fetcher.DefaultOptions().HostRate {
		o.HostRate = 0
	}
	return nil
}
