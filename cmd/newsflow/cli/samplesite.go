package cli

import (
	"fmt"
	"net/netip"
	"net/url"

	"github.com/newsflow/newsflow/services/fetcher/fetcher"
)

// allowSampleSite lets the fetcher reach the all-in-one's own sample site,
// which listens on loopback, a network the fetcher otherwise refuses: only
// that one address and port, not loopback as a whole. The
// per-host rate limit is lifted for it too (it is our own server), unless
// -host-rate was changed from its default.
func allowSampleSite(o *fetcher.Config, siteURL string) error {
	u, err := url.Parse(siteURL)
	if err != nil {
		return fmt.Errorf("sample site url: %w", err)
	}
	ap, err := netip.ParseAddrPort(u.Host)
	if err != nil {
		return fmt.Errorf("sample site address: %w", err)
	}
	o.AllowServices = append(o.AllowServices, ap)
	if o.HostRate == fetcher.DefaultConfig().HostRate {
		o.HostRate = 0
	}
	return nil
}
