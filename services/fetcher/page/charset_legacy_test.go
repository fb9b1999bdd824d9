package page

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
)

// Legacy charsets, named by the Content-Type header, by a <meta> element,
// or by nothing but a BOM, all come out as UTF-8.
func TestLegacyCharsets(t *testing.T) {
	tests := []struct {
		name, header, meta, text string
		enc                      encoding.Encoding
		wantCharset              string
	}{
		{"windows-1251 header", "text/html; charset=windows-1251", "", "Новости порта", charmap.Windows1251, "windows-1251"},
		{"windows-1251 meta", "text/html", `<meta charset="windows-1251">`, "Новости порта", charmap.Windows1251, "windows-1251"},
		{"iso-8859-1 header", "text/html; charset=ISO-8859-1", "", "Café à la côte", charmap.ISO8859_1, "windows-1252"},
		{"iso-8859-1 meta", "text/html", `<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">`, "Fußgänger", charmap.ISO8859_1, "windows-1252"},
		{"shift_jis header", "text/html; charset=Shift_JIS", "", "港のニュース", japanese.ShiftJIS, "shift_jis"},
		{"shift_jis meta", "text/html", `<meta charset="shift_jis">`, "港のニュース", japanese.ShiftJIS, "shift_jis"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			html := "<html><head>" + tt.meta + "<title>x</title></head><body><p>" + tt.text + "</p></body></html>"
			raw, err := tt.enc.NewEncoder().Bytes([]byte(html))
			require.NoError(t, err)
			require.NotEqual(t, html, string(raw), "the fixture must not be UTF-8")
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.header)
				_, _ = w.Write(raw)
			}))
			defer srv.Close()
			resp, err := testClient().Get(t.Context(), srv.URL, Conditional{})
			require.NoError(t, err)
			require.Equal(t, html, string(resp.Body))
			require.Equal(t, tt.wantCharset, resp.Charset) // WHATWG: ISO-8859-1 is read as windows-1252
		})
	}
	t.Run("utf-8 BOM beats a wrong header", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=windows-1251")
			_, _ = w.Write([]byte("\xef\xbb\xbf<p>Crème brûlée</p>"))
		}))
		defer srv.Close()
		resp, err := testClient().Get(t.Context(), srv.URL, Conditional{})
		require.NoError(t, err)
		require.Equal(t, "<p>Crème brûlée</p>", string(resp.Body))
	})
}
