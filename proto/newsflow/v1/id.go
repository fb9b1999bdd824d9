package newsflowv1

import (
	"strings"

	"github.com/google/uuid"

	"github.com/newsflow/newsflow/proto/canon"
)

// ArticleID is the stable identity of an article: the UUIDv5, in the URL
// namespace, of its canonical URL (canon.URL: scheme and host lowercased,
// default port, fragment and tracking parameters dropped, query sorted).
// It takes any spelling of the URL and canonicalises it itself, so every
// caller gets the one rule: re-fetching the same page, or reaching it by
// another spelling, yields the same id. A string canon.URL refuses (not an
// absolute http(s) URL) is used as it is, trimmed.
func ArticleID(rawURL string) string {
	c, err := canon.URL(rawURL)
	if err != nil {
		c = strings.TrimSpace(rawURL)
	}
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte(c)).String()
}
