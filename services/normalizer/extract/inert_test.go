package extract

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// stripped is what the parser reads of page.
func stripped(page string) string {
	b, _ := io.ReadAll(&spans{body: []byte(page), rest: inert([]byte(page))})
	return string(b)
}

func TestInert(t *testing.T) {
	for in, want := range map[string]string{
		"<p>a</p>": "<p>a</p>",
		`<head><script>var x = "<p>";</script><STYLE type="text/css">p{}</STYLE></head><p>a</p>`: `<head><script></script><STYLE type="text/css"></STYLE></head><p>a</p>`,
		`<script type="application/ld+json">{"articleBody":"x"}</script>`:                        `<script type="application/ld+json">{"articleBody":"x"}</script>`,
		"<p>a<!-- hidden <p>b</p> -->c</p>":                                                      "<p>ac</p>",
		"<p>a</p><!-- never closed <p>b</p>":                                                     "<p>a</p>",
		`<div data-tpl="<style>"><p>kept</p></div><style>x</style>`:                              `<div data-tpl="<style>"><p>kept</p></div><style></style>`,
		`<svg viewBox="0 0 1 1"/><p>kept</p><svg><path d="M0"/></svg>`:                           `<svg viewBox="0 0 1 1"/><p>kept</p><svg></svg>`,
		`<script>a</scripts></script><p>b</p>`:                                                   `<script></script><p>b</p>`,
		`<noscript><img src="x.jpg"></noscript><p>b</p>`:                                         `<noscript></noscript><p>b</p>`,
		"<script>never closed <p>b</p>":                                                          "<script>never closed <p>b</p>",
		`<p title='a>b'>c</p><script>x</script>`:                                                 `<p title='a>b'>c</p><script></script>`,
		"a < b and <3 <script":                                                                   "a < b and <3 <script",
	} {
		require.Equal(t, want, stripped(in), "%q", in)
	}
	page := "<p>" + strings.Repeat("plain text ", 100) + "</p>"
	require.Len(t, inert([]byte(page)), 1, "nothing to cut: one span, the page")
}
