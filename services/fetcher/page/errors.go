package page

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
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
