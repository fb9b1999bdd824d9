package newsflowv1

import "github.com/google/uuid"

// ArticleID is the stable identity of an article: the UUIDv5, in the URL
// namespace, of its canonical URL. Re-fetching the same URL yields the same id.
func ArticleID(canonicalURL string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte(canonicalURL)).String()
}
