package fetcher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/services/fetcher/feed"
	"github.com/newsflow/newsflow/services/fetcher/page"
	"github.com/newsflow/newsflow/stage"
)

// Publisher sends an article downstream. Publish returns once JetStream
// has acknowledged the message; the caller marks the URL seen only then.
type Publisher interface {
	Publish(ctx context.Context, a *newsflowv1.Article) error
}

// origin says where an article came from.
type origin struct {
	canonical string // identity: the article id derives from it
	feed      string // feed URL, or file:// URL of the ingested path
	source    string // host without "www.", or "file"
	item      feed.Item
}

// newArticle builds the envelope the fetcher publishes. resp.URL, the final
// URL after redirects, is the article's url: the body came from there, and
// the normalizer resolves relative links against it.
func newArticle(o origin, resp *page.Response, receivedAt time.Time) *newsflowv1.Article {
	sum := sha256.Sum256(resp.Body)
	f := &newsflowv1.Fetch{
		Status:       int32(resp.Status),
		ContentType:  resp.ContentType,
		Charset:      resp.Charset,
		Body:         resp.Body,
		FetchedAt:    timestamppb.New(resp.FetchedAt),
		Etag:         resp.ETag,
		LastModified: resp.LastModified,
		FeedTitle:    o.item.Title,
	}
	if published := cmpOr(o.item.Published, o.item.Updated); !published.IsZero() {
		f.FeedPublishedAt = timestamppb.New(published)
	}
	// The hash above is of the page; the message carries it compressed.
	stage.CompressBody(f)
	return &newsflowv1.Article{
		Id:           newsflowv1.ArticleID(o.canonical),
		Url:          resp.URL,
		CanonicalUrl: o.canonical,
		Feed:         stage.RedactURLs(o.feed), // never a feed's credentials downstream
		Source:       o.source,
		ContentHash:  hex.EncodeToString(sum[:]),
		Fetch:        f,
		Trace: []*newsflowv1.Span{{
			Stage:      Name,
			ReceivedAt: timestamppb.New(receivedAt),
			FinishedAt: timestamppb.Now(),
		}},
	}
}

func cmpOr(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// sourceOf names the site of a canonical URL: its host without port and
// without a leading "www.".
func sourceOf(canonical string) string {
	u, err := url.Parse(canonical)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Hostname(), "www.")
}
