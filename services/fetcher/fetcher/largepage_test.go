package fetcher

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/services/fetcher/page"
	"github.com/newsflow/newsflow/stage"
	"github.com/newsflow/newsflow/stage/natstest"
)

// TestLargePagesTravelCompressed: pages up to the default cap (the
// normalizer's 8 MiB) go through a NATS server with the default 1 MiB
// message limit when they compress as pages do (markup and inlined JSON);
// one that does not fit even compressed is refused and counted, and does
// not stop the others.
func TestLargePagesTravelCompressed(t *testing.T) {
	require.EqualValues(t, 8<<20, page.DefaultMaxBytes, "the fetcher's cap is the normalizer's")
	srv := natstest.Run(t)
	cfg := stage.DefaultConfig()
	cfg.NATSURL = srv.ClientURL()
	rt, err := stage.New(t.Context(), cfg, stage.Options{Name: "fetcher", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	defer rt.Close()

	// About 7 MiB: a story and a large inlined state object, as news
	// sites' framework pages carry.
	var big strings.Builder
	big.WriteString(`<html><head><title>Budget vote</title><script id="__NEXT_DATA__" type="application/json">{"items":[`)
	for i := 0; big.Len() < 7<<20; i++ {
		fmt.Fprintf(&big, `{"id":%d,"slug":"story-%d","section":"politics","score":%d,"tags":["budget","council","vote"]},`, i, i*7919%100003, i%977)
	}
	big.WriteString(`{}]}</script></head><body><article><p>The council passed the budget on Tuesday.</p></article></body></html>`)
	noise := make([]byte, 3<<20/2)
	_, _ = rand.Read(noise)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big.html"), []byte(big.String()), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "noise.html"), []byte("<html><body><p>"+base64.StdEncoding.EncodeToString(noise)+"</p></body></html>"), 0o644))

	o := DefaultConfig()
	o.Ingest, o.Once = dir, true
	s, err := Start(t.Context(), rt, o)
	require.NoError(t, err)
	st, err := s.Once(t.Context())
	require.Error(t, err, "the page that does not fit is reported")
	require.Equal(t, 1, st.Published)
	require.Equal(t, map[string]int{ReasonTooLarge: 1}, st.Failed)

	str, err := rt.JetStream().Stream(t.Context(), stage.StreamFor(stage.SubjectFetched))
	require.NoError(t, err)
	m, err := str.GetMsg(t.Context(), 1)
	require.NoError(t, err)
	require.Less(t, len(m.Data), 1<<20)
	a, err := stage.DecodeArticle(m.Data)
	require.NoError(t, err)
	body, err := stage.FetchBody(a.GetFetch())
	require.NoError(t, err)
	require.Equal(t, big.String(), string(body), "the page arrives whole")
}
