package stage

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
)

// FuzzDecodeArticle: any payload either decodes or fails cleanly, and what
// decodes survives a round trip.
func FuzzDecodeArticle(f *testing.F) {
	seed, err := proto.Marshal(&newsflowv1.Article{Id: "a", Url: "https://example.com/a",
		Fetch: &newsflowv1.Fetch{Body: []byte("<p>x</p>")}, Trace: []*newsflowv1.Span{{Stage: "fetcher"}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := DecodeArticle(data)
		if err != nil {
			return
		}
		again, err := proto.Marshal(a)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		b, err := DecodeArticle(again)
		if err != nil || !proto.Equal(a, b) {
			t.Fatalf("round trip changed the article: %v", err)
		}
	})
}

func TestMsgIDNamesArticleVersionAndStage(t *testing.T) {
	a := &newsflowv1.Article{Id: "id1", ContentHash: "h1"}
	if got := MsgID("tagger", a); got != "id1:h1:tagger" {
		t.Fatalf("MsgID = %q", got)
	}
	b := &newsflowv1.Article{Id: "id1", ContentHash: "h2"}
	if MsgID("tagger", a) == MsgID("tagger", b) || MsgID("tagger", a) == MsgID("sink", a) {
		t.Fatal("a new version or another stage must not share a message id")
	}
}

// A publish whose ack never comes (it was lost with the connection, or the
// server died after storing the message) is given up after PublishTry as
// unavailable, to be sent again, rather than awaited for the whole handler
// timeout: here a plain subscriber takes the message and never answers.
func TestPublishGivesUpOnALostAck(t *testing.T) {
	h := newHarness(t, "normalizer")
	sub, err := h.rt.nc.Subscribe("lost.acks", func(*nats.Msg) {})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	require.NoError(t, h.rt.nc.Flush())

	ctx, cancel := context.WithTimeout(t.Context(), 6*PublishTry)
	defer cancel()
	p := &Publisher{r: h.rt, subject: "lost.acks"}
	began := time.Now()
	err = p.Publish(ctx, &newsflowv1.Article{Id: "a", ContentHash: "h"})
	require.ErrorIs(t, err, ErrUnavailable)
	require.NoError(t, ctx.Err(), "gave up by its own bound, not the caller's deadline")
	require.GreaterOrEqual(t, time.Since(began), PublishTry, "waited for the ack as long as it may")
	require.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
}
