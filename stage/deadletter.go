package stage

import (
	"strconv"

	"github.com/nats-io/nats.go"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
)

// DeadLetter is one message a stage could not process: the headers the
// runtime writes on it (see the Header* constants) and the original
// payload. Everything that writes or reads dead letters goes through
// Header and ParseDeadLetter.
type DeadLetter struct {
	Stage, Reason, Error string
	// Deliveries is how many times the stage was given the message.
	Deliveries uint64
	// Source is "<stream>:<sequence>" of the original message.
	Source    string
	ArticleID string
	// InputID is the id the original message carried, when the stage had
	// given the article another one (ArticleID) before it failed.
	InputID string
	// PayloadOmitted is set when the original was too large to carry; the
	// original stays at Source while its stream keeps it.
	PayloadOmitted bool
	// Article is the original, decoded; nil when omitted or unreadable.
	Article *newsflowv1.Article
}

// errorHeaderMax bounds the error text carried in a header.
const errorHeaderMax = 1024

// Header encodes d's fields as dead-letter headers (the payload is the
// original message, sent beside them).
func (d DeadLetter) Header() nats.Header {
	h := nats.Header{}
	h.Set(HeaderDeadStage, d.Stage)
	h.Set(HeaderDeadReason, d.Reason)
	h.Set(HeaderDeadError, truncate(d.Error, errorHeaderMax))
	h.Set(HeaderDeadDeliveries, strconv.FormatUint(d.Deliveries, 10))
	h.Set(HeaderDeadSource, d.Source)
	if d.ArticleID != "" {
		h.Set(HeaderArticleID, d.ArticleID)
	}
	if d.InputID != "" {
		h.Set(HeaderDeadInputID, d.InputID)
	}
	if d.PayloadOmitted {
		h.Set(HeaderDeadPayload, "omitted: over the payload limit; see "+HeaderDeadSource)
	}
	return h
}

// ParseDeadLetter reads a dead letter from its headers and payload. It
// never fails: fields a header does not carry stay empty, and an unreadable
// payload leaves Article nil.
func ParseDeadLetter(h nats.Header, data []byte) DeadLetter {
	d := DeadLetter{
		Stage:          h.Get(HeaderDeadStage),
		Reason:         h.Get(HeaderDeadReason),
		Error:          h.Get(HeaderDeadError),
		Source:         h.Get(HeaderDeadSource),
		ArticleID:      h.Get(HeaderArticleID),
		InputID:        h.Get(HeaderDeadInputID),
		PayloadOmitted: h.Get(HeaderDeadPayload) != "",
	}
	d.Deliveries, _ = strconv.ParseUint(h.Get(HeaderDeadDeliveries), 10, 64)
	if len(data) > 0 {
		if a, err := DecodeArticle(data); err == nil {
			d.Article = a
		}
	}
	return d
}

// URL is the dead article's URL, "" when the payload is missing.
func (d DeadLetter) URL() string { return d.Article.GetUrl() }

// SourceHost is the dead article's source site, "unknown" when the payload
// is missing.
func (d DeadLetter) SourceHost() string {
	if s := d.Article.GetSource(); s != "" {
		return s
	}
	return "unknown"
}
