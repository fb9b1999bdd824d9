package sink

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/stage"
	"github.com/newsflow/newsflow/stage/natstest"
)

// TestAdminDeadLetterAPI: the dead letters over HTTP, behind the admin
// token only (a reader's token is refused), listed, shown, redriven back to
// their stage's input and purged.
func TestAdminDeadLetterAPI(t *testing.T) {
	ns := natstest.Run(t)
	cfg := stage.DefaultConfig()
	cfg.NATSURL = ns.ClientURL()
	tel, health := stage.NewTelemetry(), stage.NewHealth()
	mux := stage.Mux(tel.Registry, health, false)
	rt, err := stage.New(t.Context(), cfg, stage.Options{Name: Name, Telemetry: tel, Health: health, Mux: mux, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	defer rt.Close()
	js := natstest.JetStream(t, ns)

	// Three dead letters of the normalizer, as its runtime writes them.
	_, err = rt.Publisher(t.Context(), stage.SubjectFetched) // the normalizer's input stream
	require.NoError(t, err)
	for i, reason := range []string{"empty_extraction", "empty_extraction", "panic"} {
		a := &newsflowv1.Article{Id: "a" + string(rune('0'+i)), Url: "https://news.example/" + reason, Source: "news.example", ContentHash: "h"}
		msg, err := stage.ArticleMsg(stage.SubjectDeadPrefix+"normalizer", a)
		require.NoError(t, err)
		msg.Header = stage.DeadLetter{Stage: "normalizer", Reason: reason, Error: reason, Deliveries: 1, ArticleID: a.Id}.Header()
		_, err = js.PublishMsg(t.Context(), msg)
		require.NoError(t, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	sc := DefaultConfig()
	sc.Store = "sqlite:" + filepath.Join(t.TempDir(), "news.db")
	sc.APIToken, sc.AdminToken = "reader", "admin"
	go func() { done <- Run(ctx, rt, sc) }()
	defer func() { cancel(); require.NoError(t, <-done) }()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	call := func(method, path, token string, into any) int {
		req, err := http.NewRequest(method, srv.URL+path, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		if into != nil {
			require.NoError(t, json.NewDecoder(resp.Body).Decode(into))
		}
		return resp.StatusCode
	}
	require.Eventually(t, func() bool { return call("GET", "/api/v1/admin/dead", "", nil) != http.StatusNotFound }, 10*time.Second, 50*time.Millisecond)
	require.Equal(t, http.StatusUnauthorized, call("GET", "/api/v1/admin/dead", "", nil))
	require.Equal(t, http.StatusUnauthorized, call("GET", "/api/v1/admin/dead", "reader", nil), "a reader's token opens no admin door")

	var list struct {
		Total  int
		Counts []struct {
			Stage, Reason, Source string
			Count                 int
		}
		Items []struct {
			Seq    uint64
			Reason string
			URL    string
		}
	}
	require.Equal(t, http.StatusOK, call("GET", "/api/v1/admin/dead?reason=empty_extraction", "admin", &list))
	require.Equal(t, 2, list.Total)
	require.Len(t, list.Counts, 1)
	require.Equal(t, 2, list.Counts[0].Count)
	require.Equal(t, "news.example", list.Counts[0].Source)
	require.Len(t, list.Items, 2)

	var one struct {
		Seq       uint64
		Reason    string
		ArticleID string `json:"article_id"`
	}
	require.Equal(t, http.StatusOK, call("GET", "/api/v1/admin/dead/3", "admin", &one))
	require.Equal(t, "panic", one.Reason)
	require.Equal(t, "a2", one.ArticleID)
	require.Equal(t, http.StatusNotFound, call("GET", "/api/v1/admin/dead/99", "admin", nil))
	require.Equal(t, http.StatusBadRequest, call("GET", "/api/v1/admin/dead?since=yesterday", "admin", nil))

	var rd struct {
		Selected, Redriven int
		DryRun             bool `json:"dry_run"`
	}
	require.Equal(t, http.StatusOK, call("POST", "/api/v1/admin/dead/redrive?reason=empty_extraction&dry_run=true", "admin", &rd))
	require.Equal(t, 2, rd.Selected)
	require.Zero(t, rd.Redriven)
	require.Equal(t, http.StatusOK, call("POST", "/api/v1/admin/dead/redrive?reason=empty_extraction", "admin", &rd))
	require.Equal(t, 2, rd.Redriven)
	s, err := js.Stream(t.Context(), "ARTICLES_FETCHED")
	require.NoError(t, err)
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	require.Equal(t, uint64(2), info.State.Msgs, "back in the normalizer's input")

	require.Equal(t, http.StatusBadRequest, call("POST", "/api/v1/admin/dead/purge", "admin", nil), "purge needs a selection")
	var pg struct{ Deleted int }
	require.Equal(t, http.StatusOK, call("POST", "/api/v1/admin/dead/purge?all=true", "admin", &pg))
	require.Equal(t, 1, pg.Deleted)
	require.Equal(t, http.StatusOK, call("GET", "/api/v1/admin/dead", "admin", &list))
	require.Zero(t, list.Total)
}
