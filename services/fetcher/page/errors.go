package page

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// Error classes, checked with errors.Is. Every error Get returns, apart from
// the caller's own context ending, matches exactly one of ErrPermanent and
// ErrTransient.
var (
	// ErrPermanent: retrying the same request will not help (4xx other than
	// 408/429, refused content, bad URL).
	ErrPermanent = errors.New("permanent fetch failure")
	// ErrTransient: the request may succeed later (5xx, 408, 429, timeouts,
	// network errors).
	ErrTransient = errors.New("transient fetch failure")
	// ErrHostBusy (also ErrTransient): the request waited longer than its
	// bound for the host's turn (politeness) and was never sent.
	ErrHostBusy = errors.New("waited too long for the host's turn")
)

// Refusals, each also matching ErrPermanent.
var (
	// ErrTooLarge: the body is over ClientConfig.MaxBytes. The body is
	// refused whole, never truncated.
	ErrTooLarge = errors.New("body too large")
	// ErrUnsupportedContent: a media type outside ClientConfig.AllowedTypes.
	ErrUnsupportedContent = errors.New("unsupported content type")
	// ErrUnsupportedScheme: a URL, or a redirect target, that is not http(s).
	ErrUnsupportedScheme = errors.New("unsupported url scheme")
	// ErrTooManyRedirects: more than ClientConfig.MaxRedirects hops.
	ErrTooManyRedirects = errors.New("too many redirects")
)

// StatusError is an unsuccessful HTTP status; retrieve it with errors.As to
// read the code (for metrics) or the server's Retry-After.
type StatusError struct {
	Code int
	// RetryAfter is the delay the server asked for (429, 503), or zero.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("http status %d %s", e.Code, http.StatusText(e.Code))
}

// Transient reports whether the status is worth retrying later.
func (e *StatusError) Transient() bool {
	return e.Code >= 500 || e.Code == http.StatusRequestTimeout || e.Code == http.StatusTooManyRequests
}

// statusError classifies a final non-2xx response.
func statusError(resp *http.Response, now time.Time) error {
	se := &StatusError{Code: resp.StatusCode}
	if se.Code == http.StatusTooManyRequests || se.Code == http.StatusServiceUnavailable {
		se.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), now)
	}
	if se.Transient() {
		return fmt.Errorf("%w: %w", ErrTransient, se)
	}
	return fmt.Errorf("%w: %w", ErrPermanent, se)
}

// refused marks a refusal as permanent.
func refused(reason error, detail string) error {
	return fmt.Errorf("%w: %w: %s", ErrPermanent, reason, detail)
}

// retryAfter reads a Retry-After header given in seconds or as an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// Error classes, the "class" label of the fetcher's error metrics. Parse
// and robots failures are found by the fetcher, not the client.
const (
	ClassDNS        = "dns"
	ClassConnect    = "connect"
	ClassTLS        = "tls"
	ClassTimeout    = "timeout"
	ClassHTTPStatus = "http_status"
	ClassParse      = "parse"
	ClassPolicy     = "policy"
	ClassTooLarge   = "too_large"
	ClassRobots     = "robots"
	ClassHostBusy   = "host_busy"
	ClassOther      = "other"
)

// Classes lists every error class.
func Classes() []string {
	return []string{ClassDNS, ClassConnect, ClassTLS, ClassTimeout, ClassHTTPStatus, ClassParse,
		ClassPolicy, ClassTooLarge, ClassRobots, ClassHostBusy, ClassOther}
}

// ErrorClass names the class of an error Get returned ("" for nil).
func ErrorClass(err error) string {
	var (
		se      *StatusError
		dnsErr  *net.DNSError
		netErr  net.Error
		opErr   *net.OpError
		certErr *tls.CertificateVerificationError
		recErr  tls.RecordHeaderError
		alert   tls.AlertError
		unkAuth x509.UnknownAuthorityError
		hostErr x509.HostnameError
		invErr  x509.CertificateInvalidError
	)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrForbiddenAddress), errors.Is(err, ErrUnsupportedScheme),
		errors.Is(err, ErrTooManyRedirects), errors.Is(err, ErrUnsupportedContent):
		return ClassPolicy
	case errors.Is(err, ErrTooLarge):
		return ClassTooLarge
	case errors.Is(err, ErrHostBusy):
		return ClassHostBusy
	case errors.Is(err, ErrBadEncoding):
		return ClassParse
	case errors.As(err, &se):
		return ClassHTTPStatus
	case errors.As(err, &dnsErr) && !dnsErr.IsTimeout:
		return ClassDNS
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return ClassTimeout
	case errors.As(err, &certErr), errors.As(err, &recErr), errors.As(err, &alert),
		errors.As(err, &unkAuth), errors.As(err, &hostErr), errors.As(err, &invErr):
		return ClassTLS
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.As(err, &opErr) && opErr.Op == "dial":
		return ClassConnect
	}
	return ClassOther
}
