package page

import (
	"bytes"
	"fmt"
	"mime"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
)

var xmlEncodingDecl = regexp.MustCompile(`^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']`)

// Decode converts body to UTF-8 and returns the name of the charset it was
// decoded from. The charset is taken, in order, from a byte-order mark, the
// charset parameter of contentType, an XML declaration, an HTML <meta>
// element; failing all of those, UTF-8 if the bytes are valid UTF-8, else
// windows-1252 (what browsers assume).
func Decode(body []byte, contentType string) ([]byte, string, error) {
	enc, name, certain := charset.DetermineEncoding(body, contentType)
	if !certain {
		if label := xmlEncoding(body); label != "" {
			if e, n := charset.Lookup(label); e != nil && !strings.HasPrefix(n, "utf-16") {
				// A declaration readable as ASCII cannot be UTF-16 (that
				// would have had a BOM), so such a label is ignored.
				enc, name = e, n
			}
		}
	}
	if !certain && name == "windows-1252" && utf8.Valid(body) {
		// DetermineEncoding looks at the first 1024 bytes only, so an ASCII
		// head followed by UTF-8 text would be mangled; valid UTF-8 through
		// the whole body is UTF-8 (or ASCII, which reads the same).
		enc, name = encoding.Nop, "utf-8"
	}
	out, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return nil, "", fmt.Errorf("decode %s body: %w", name, err)
	}
	return bytes.TrimPrefix(out, []byte("\uFEFF")), name, nil
}

func xmlEncoding(body []byte) string {
	m := xmlEncodingDecl.FindSubmatch(body[:min(len(body), 1024)])
	if m == nil {
		return ""
	}
	return string(m[1])
}

// mediaType returns the lowercased media type of a Content-Type value.
func mediaType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(contentType, ";")
	}
	return strings.ToLower(strings.TrimSpace(mt))
}
