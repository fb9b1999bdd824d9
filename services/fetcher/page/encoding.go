package page

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/andybalholm/brotli"
)

// ErrBadEncoding: a Content-Encoding the client does not know, or a body
// that does not decode as the encoding it claims. It also matches
// ErrPermanent.
var ErrBadEncoding = errors.New("bad content encoding")

// decompress wraps body in the decoder its Content-Encoding names. The
// caller reads the result through ReadAll, so the decompressed size is
// capped: a decompression bomb is refused as too large after reading at
// most the cap, never inflated in full.
func decompress(body io.Reader, contentEncoding string) (io.Reader, error) {
	switch enc := strings.ToLower(strings.TrimSpace(contentEncoding)); enc {
	case "", "identity":
		return body, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, badEncoding(enc, err)
		}
		return zr, nil
	case "deflate":
		// RFC 9110 says zlib-wrapped; some servers send raw deflate.
		br := bufio.NewReader(body)
		head, err := br.Peek(2)
		if err == nil && isZlibHeader(head) {
			zr, err := zlib.NewReader(br)
			if err != nil {
				return nil, badEncoding(enc, err)
			}
			return zr, nil
		}
		return flate.NewReader(br), nil
	case "br":
		return brotli.NewReader(body), nil
	default:
		return nil, badEncoding(enc, errors.New("not supported"))
	}
}

func isZlibHeader(b []byte) bool {
	return b[0]&0x0f == 8 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0
}

func badEncoding(enc string, err error) error {
	return fmt.Errorf("%w: %w: %s: %w", ErrPermanent, ErrBadEncoding, enc, err)
}

// cacheFor reads how long a response stays fresh: Cache-Control max-age
// (s-maxage is for shared caches, not for us), else Expires minus Date (or
// now). Zero when neither says, or the response must not be cached.
func cacheFor(h http.Header, now time.Time) time.Duration {
	for part := range strings.SplitSeq(h.Get("Cache-Control"), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch strings.ToLower(k) {
		case "no-store", "no-cache":
			return 0
		case "max-age":
			if secs, err := strconv.Atoi(strings.Trim(v, `"`)); err == nil && secs > 0 {
				return time.Duration(secs) * time.Second
			}
			return 0
		}
	}
	exp, err := http.ParseTime(h.Get("Expires"))
	if err != nil {
		return 0
	}
	if date, err := http.ParseTime(h.Get("Date")); err == nil {
		now = date
	}
	if d := exp.Sub(now); d > 0 {
		return d
	}
	return 0
}
