package stage

import (
	"testing"

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
