package page

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name, fixture, contentType string
		wantCharset, wantContains  string
	}{
		{"utf-8 without declaration", "utf8.html", "text/html", "utf-8", "naïve — café"},
		{"meta charset", "meta-1252.html", "text/html", "windows-1252", "Crème “quoted”"},
		{"header wins over meta", "utf8.html", "text/html; charset=ISO-8859-1", "windows-1252", "naÃ¯ve"},
		{"xml declaration", "latin1-decl.xml", "application/rss+xml", "windows-1252", "<title>Café</title>"},
		{"bom wins over header", "utf16le-bom.html", "text/html; charset=iso-8859-1", "utf-16le", "<body>Grüße</body>"},
		{"invalid utf-8 falls back to windows-1252", "latin1-decl.xml", "text/plain", "windows-1252", "Café"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", tt.fixture))
			require.NoError(t, err)
			body, cs, err := Decode(raw, tt.contentType)
			require.NoError(t, err)
			require.Equal(t, tt.wantCharset, cs)
			require.Contains(t, string(body), tt.wantContains)
			require.NotEqual(t, byte(0xEF), body[0], "byte-order mark must be removed")
		})
	}
}

// A declaration of UTF-16 in a document readable as ASCII is a lie.
func TestDecodeIgnoresASCIIUTF16Declaration(t *testing.T) {
	body, cs, err := Decode([]byte(`<?xml version="1.0" encoding="UTF-16"?><rss/>`), "text/xml")
	require.NoError(t, err)
	require.Equal(t, "utf-8", cs)
	require.Equal(t, `<?xml version="1.0" encoding="UTF-16"?><rss/>`, string(body))
}

// The charset library decides from the first 1024 bytes; UTF-8 that starts
// later must still be read as UTF-8.
func TestDecodeLateUTF8(t *testing.T) {
	raw := []byte("<html><body>" + strings.Repeat("ascii ", 300) + "café</body></html>")
	body, cs, err := Decode(raw, "text/html")
	require.NoError(t, err)
	require.Equal(t, "utf-8", cs)
	require.Equal(t, string(raw), string(body))
}
