package stage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
)

// Publisher publishes articles to one subject, with a Nats-Msg-Id built from
// the article id, its content hash and the stage, so a re-publish after a
// crash is dropped by the stream's duplicate window.
type Publisher struct {
	r       *Runtime
	subject string
	// dead marks the dead-letter publisher, whose sends are counted by
	// newsflow_dead_letters_total instead of newsflow_published_total.
	dead bool
	// wait makes Publish wait out a NATS outage (see Waiting).
	wait bool
}

// PublishTry bounds the wait for JetStream's ack of one publish, so that a
// publish whose ack was lost with a dropped connection (or a server killed
// after it stored the message) is sent again, deduplicated by its message
// id, rather than awaited for the whole handler timeout: a lost ack held a
// worker for 30 s after a NATS restart (TestFaultsLoseNothing). On loopback
// an ack takes well under a millisecond; on a loaded replicated stream a
// few.
const PublishTry = 5 * time.Second

// Waiting returns a publisher that waits out a NATS or JetStream outage
// (disconnected, no stream responding, storage full): Publish tries again
// with a growing delay, capped at 10s, for as long as its context allows,
// and the stage reports not ready meanwhile. A source stage (the fetcher)
// uses it, so that an outage delays its work instead of failing it.
func (p *Publisher) Waiting() *Publisher {
	w := *p
	w.wait = true
	p.r.health.Add(p.r.name+"/publish", func(context.Context) error { return p.r.avail.err() })
	return &w
}

// Publisher returns a publisher for subject, creating its stream if missing.
func (r *Runtime) Publisher(ctx context.Context, subject string) (*Publisher, error) {
	if _, err := ensureStream(ctx, r.js, r.cfg, subject); err != nil {
		return nil, err
	}
	r.tel.publishing(r.name)
	return &Publisher{r: r, subject: subject}, nil
}

// MsgID is the deduplication id a stage publishes an article under:
// "<id>:<content hash>:<stage>", so that a re-publish after a crash is
// dropped by the stream's duplicate window while a new version of the page
// (another content hash) is not. A replay adds its generation
// (Article.replay), ":<replay>": a replay is then a new message to the
// window, not a copy of the first pass, and what one replay sends twice is
// still dropped. Whoever republishes into a stage's input for a replay sets
// the generation on the article and publishes it under this id with its
// own name as the stage.
func MsgID(stage string, a *newsflowv1.Article) string {
	id := a.GetId() + ":" + a.GetContentHash() + ":" + stage
	if r := a.GetReplay(); r != "" {
		id += ":" + r
	}
	return id
}

// Publish encodes a and publishes it, returning once JetStream has stored it
// (or recognised it as a duplicate). An article larger than the server's
// payload limit is refused with a permanent "oversize" error, never truncated.
func (p *Publisher) Publish(ctx context.Context, a *newsflowv1.Article) error {
	if !p.wait {
		_, err := p.publish(ctx, a)
		return err
	}
	for attempt := uint64(1); ; attempt++ {
		_, err := p.publish(ctx, a)
		if !errors.Is(err, ErrUnavailable) || ctx.Err() != nil {
			if err == nil {
				p.r.avail.up()
			}
			return err
		}
		if !p.r.hold(ctx, err, attempt) {
			return err
		}
	}
}

func (p *Publisher) publish(ctx context.Context, a *newsflowv1.Article) (duplicate bool, err error) {
	msg, err := ArticleMsg(p.subject, a)
	if err != nil {
		return false, Permanent("encode", err)
	}
	return p.send(ctx, msg, MsgID(p.r.name, a))
}

// ArticleMsg encodes a as a message to subject, with its id in a header.
func ArticleMsg(subject string, a *newsflowv1.Article) (*nats.Msg, error) {
	data, err := proto.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("encode article %s: %w", a.GetId(), err)
	}
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	msg.Header.Set(HeaderArticleID, a.GetId())
	return msg, nil
}

// send publishes msg with a message id after checking its size.
func (p *Publisher) send(ctx context.Context, msg *nats.Msg, msgID string) (bool, error) {
	if limit := p.r.nc.MaxPayload(); int64(len(msg.Data)) > limit-4096 {
		return false, Permanentf("oversize", "message of %d bytes exceeds the nats payload limit of %d bytes", len(msg.Data), limit)
	}
	tctx, cancel := context.WithTimeout(ctx, PublishTry)
	defer cancel()
	sent := time.Now()
	ack, err := p.r.js.PublishMsg(tctx, msg, jetstream.WithMsgID(msgID))
	if !p.dead {
		p.r.tel.publishTime.WithLabelValues(p.r.name).Observe(time.Since(sent).Seconds())
	}
	if err != nil {
		p.r.tel.publishErrors.WithLabelValues(p.r.name).Inc()
		err = fmt.Errorf("publish to %s: %w", p.subject, err)
		if p.r.busDown(err) {
			err = Unavailable(err)
		}
		return false, err
	}
	if !p.dead {
		p.r.tel.published.WithLabelValues(p.r.name, fmt.Sprint(ack.Duplicate)).Inc()
	}
	return ack.Duplicate, nil
}

// DecodeArticle decodes a message payload.
func DecodeArticle(data []byte) (*newsflowv1.Article, error) {
	var a newsflowv1.Article
	if err := proto.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("decode article: %w", err)
	}
	return &a, nil
}

// busDown reports whether a failed publish says NATS or JetStream cannot take
// messages at all (disconnected, no stream responding, storage full), as
// against a problem of the message.
func (r *Runtime) busDown(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		// 10047: insufficient storage resources; 10023: insufficient
		// resources; 10077: the stream's store failed (a full disk, or a
		// full stream that refuses new messages).
		switch apiErr.ErrorCode {
		case 10047, 10023, 10077:
			return true
		}
		return false
	}
	return !r.nc.IsConnected() ||
		errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionReconnecting)
}
