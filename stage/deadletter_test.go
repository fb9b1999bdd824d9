package stage

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
)

// TestDeadLetterRoundTrip: what Header writes, ParseDeadLetter reads back,
// with the payload decoded, an omitted payload marked, and an over-long
// error cut.
func TestDeadLetterRoundTrip(t *testing.T) {
	a := &newsflowv1.Article{Id: "a1", Url: "https://news.example/a", Source: "news.example"}
	data, err := proto.Marshal(a)
	require.NoError(t, err)
	in := DeadLetter{Stage: "normalizer", Reason: "empty_extraction", Error: "no text", Deliveries: 3,
		Source: "ARTICLES_FETCHED:42", ArticleID: "a1", InputID: "a0"}
	out := ParseDeadLetter(in.Header(), data)
	require.Equal(t, "https://news.example/a", out.URL())
	require.Equal(t, "news.example", out.SourceHost())
	out.Article = nil
	require.Equal(t, in, out)

	in.PayloadOmitted, in.Error = true, strings.Repeat("x", 5000)
	out = ParseDeadLetter(in.Header(), nil)
	require.True(t, out.PayloadOmitted)
	require.Nil(t, out.Article)
	require.Equal(t, "unknown", out.SourceHost())
	require.Equal(t, "", out.URL())
	require.Len(t, out.Error, errorHeaderMax+len("…"))

	garbled := ParseDeadLetter(nil, []byte{0xff, 0x01})
	require.Nil(t, garbled.Article)
	require.Zero(t, garbled.Deliveries)
}
