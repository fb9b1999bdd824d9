// Package canon turns article URLs into the canonical form the pipeline uses
// as identity: two links to the same article should canonicalise alike, so
// the seen-set and the article id do not depend on tracking decorations.
package canon

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// ErrUnsupported is returned for URLs the fetcher cannot fetch: relative
// references, schemes other than http and https, or a missing host.
var ErrUnsupported = errors.New("unsupported url")

// URL returns the canonical form of an absolute http or https URL: scheme
// and host lowercased, default port, fragment and tracking parameters
// (utm_*, fbclid, gclid) removed, the remaining query parameters sorted.
// The path keeps its case, since servers may treat it case-sensitively.
func URL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("canonicalise %q: %w", raw, err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("canonicalise %q: scheme %q: %w", raw, u.Scheme, ErrUnsupported)
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "" {
		return "", fmt.Errorf("canonicalise %q: no host: %w", raw, ErrUnsupported)
	}
	if port := u.Port(); port != "" && !isDefaultPort(u.Scheme, port) {
		host = joinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]" // IPv6 literal without port
	}
	u.Host = host
	u.Fragment, u.RawFragment = "", ""
	if u.Path == "" {
		u.Path, u.RawPath = "/", ""
	}
	u.RawQuery = canonicalQuery(u.RawQuery)
	u.ForceQuery = false
	return u.String(), nil
}

func isDefaultPort(scheme, port string) bool {
	return (scheme == "http" && port == "80") || (scheme == "https" && port == "443")
}

func joinHostPort(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

// canonicalQuery filters and sorts the raw query pairs without decoding and
// re-encoding them, so the bytes the server sees stay as the publisher wrote
// them ("a+b" and "a%20b" are not conflated).
func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	var pairs []string
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		key, _, _ := strings.Cut(pair, "=")
		if k, err := url.QueryUnescape(key); err == nil {
			key = k
		}
		if isTracking(strings.ToLower(key)) {
			continue
		}
		pairs = append(pairs, pair)
	}
	slices.SortStableFunc(pairs, func(a, b string) int {
		ka, _, _ := strings.Cut(a, "=")
		kb, _, _ := strings.Cut(b, "=")
		if c := strings.Compare(ka, kb); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return strings.Join(pairs, "&")
}

// isTracking reports query keys that only say where a click came from.
func isTracking(key string) bool {
	switch key {
	case "fbclid", "gclid":
		return true
	}
	return strings.HasPrefix(key, "utm_")
}

// Resolve resolves ref against base (nil: ref must be absolute) and returns
// the result only if it is an http(s) URL with a host, else "". It does not
// canonicalise: links keep the spelling the page gave them.
func Resolve(base *url.URL, ref string) string {
	if ref == "" {
		return ""
	}
	u, err := url.Parse(ref)
	if err != nil {
		return ""
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return u.String()
}
