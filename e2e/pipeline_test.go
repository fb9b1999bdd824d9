package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/cmd/newsflow/samplesite"
	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/stage"
)

// bulkCopies is how many extra pages are ingested from files, so that the
// normalizer is still busy when it is killed.
const bulkCopies = 400

// TestPipelineSurvivesNormalizerKill runs the four services and a real
// nats-server as separate processes over the sample site, a poison feed and
// a bulk ingest; it SIGKILLs the normalizer mid-run and restarts it, then
// checks that every article is stored exactly once and the poison article
// is dead-lettered with its reason.
func TestPipelineSurvivesNormalizerKill(t *testing.T) {
	natsURL := natsServer(t)

	site, err := samplesite.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { site.Close() })
	poison := poisonSite(t)
	bulk := bulkDir(t, site.URL)
	articles := samplesite.Articles()
	want := len(articles) + bulkCopies

	sinkAddr := freeAddr(t)
	db := filepath.Join(t.TempDir(), "newsflow.db")
	sink := start(t, "sink", "-nats", natsURL, "-http", sinkAddr, "-store", "sqlite:"+db)
	tagger := start(t, "tagger", "-nats", natsURL, "-http", freeAddr(t))

	// Fill the fetched stream before the normalizer starts.
	feeds := samplesite.FeedURL(site.URL) + "," + poison + "/feed.xml"
	// Both sites listen on loopback, which the fetcher refuses unless
	// allowed; and they are ours, so no per-host rate limit.
	fetch := start(t, "fetcher", "-nats", natsURL, "-http", freeAddr(t), "-feeds", feeds, "-once",
		"-allow-net", "127.0.0.0/8", "-host-rate", "0")
	require.NoError(t, fetch.wait(t, 60*time.Second), "fetcher -once over the feeds")
	ingest := start(t, "fetcher", "-nats", natsURL, "-http", freeAddr(t), "-ingest", bulk, "-once")
	require.NoError(t, ingest.wait(t, 60*time.Second), "fetcher -once -ingest")

	js := jetStream(t, natsURL)
	require.Equal(t, uint64(want+1), streamMsgs(t, js, "ARTICLES_FETCHED"), "every page and the poison one fetched")

	normAddr := freeAddr(t)
	normArgs := []string{"-nats", natsURL, "-http", normAddr, "-workers", "1", "-ack-wait", "5s", "-handler-timeout", "2s"}
	norm := start(t, "normalizer", normArgs...)
	require.Eventually(t, func() bool {
		return streamMsgs(t, js, "ARTICLES_NORMALIZED") >= 20
	}, 60*time.Second, 100*time.Millisecond, "the normalizer to make progress")
	norm.kill()
	killedAt := streamMsgs(t, js, "ARTICLES_NORMALIZED")
	require.Less(t, killedAt, uint64(want), "the normalizer finished before it could be killed mid-run")
	t.Logf("normalizer killed after %d of %d articles", killedAt, want)

	// Crash exactly between publishing an output and acking its input: the
	// redelivered input is handled again and its output must be dropped by
	// the stream's duplicate window.
	crashing := startEnv(t, []string{stage.EnvFailpoint + "=crash-after-publish:10"}, "normalizer", normArgs...)
	require.Error(t, crashing.wait(t, 60*time.Second), "the failpoint kills the normalizer")
	crashedAt := streamMsgs(t, js, "ARTICLES_NORMALIZED")
	require.Less(t, crashedAt, uint64(want), "the normalizer finished before its failpoint")

	norm = start(t, "normalizer", normArgs...)

	// A graceful stop mid-run loses nothing either.
	tagger.stop(t)
	taggerAddr := freeAddr(t)
	tagger = start(t, "tagger", "-nats", natsURL, "-http", taggerAddr)

	require.Eventually(t, func() bool {
		// Relinks are sent once the tagger and the sink have caught up:
		// none may be waiting (or on its way) when the consumers are idle.
		return metric(t, taggerAddr, "newsflow_story_relinks_pending") == 0 && consumersIdle(t, js)
	}, 3*time.Minute, 100*time.Millisecond, "every consumer to catch up, relinks included")
	require.GreaterOrEqual(t, metric(t, normAddr, "newsflow_published_total", `duplicate="true"`, `stage="normalizer"`), 1.0,
		"the output published before the crash was re-published and dropped as a duplicate")

	// Exactly once: one normalized and one tagged message per article
	// despite the kill, one row per article. The bulk copies arrive out of
	// their order (they tie on publication time and go by id), so the
	// tagger relinks some: those are messages of their own, each carrying
	// a relink generation, and the only rows rewritten.
	relinked := 0
	for _, stream := range []string{"ARTICLES_NORMALIZED", "ARTICLES_TAGGED"} {
		firstPass := map[string]int{}
		relinks := 0
		for _, a := range streamArticles(t, js, stream) {
			switch r := a.GetReplay(); {
			case r == "":
				firstPass[a.GetId()]++
			case strings.HasPrefix(r, "l"):
				relinks++
			default:
				t.Fatalf("%s: article %s carries replay generation %q", stream, a.GetId(), r)
			}
		}
		require.Len(t, firstPass, want, stream)
		for id, n := range firstPass {
			require.Equal(t, 1, n, "%s: article %s", stream, id)
		}
		relinked = relinks
		t.Logf("%s: %d relinked", stream, relinks)
	}
	stored := listAll(t, sinkAddr)
	require.Len(t, stored, want)
	ids := map[string]bool{}
	for _, a := range stored {
		require.False(t, ids[a.ID], "article %s stored twice", a.ID)
		ids[a.ID] = true
		require.NotEmpty(t, a.Title, "article %s has no title", a.URL)
		require.NotEmpty(t, a.Topics, "article %s has no topics", a.URL)
	}
	require.LessOrEqual(t, metric(t, sinkAddr, "newsflow_store_rows_written_total", `outcome="updated"`), float64(relinked))

	// The poison page is dead-lettered with its reason; nothing else is.
	require.Equal(t, uint64(1), streamMsgs(t, js, "ARTICLES_DEAD"))
	dead := lastMsg(t, js, "ARTICLES_DEAD")
	require.Equal(t, stage.SubjectDeadPrefix+"normalizer", dead.Subject)
	require.Equal(t, "empty_extraction", dead.Header.Get(stage.HeaderDeadReason))
	a, err := stage.DecodeArticle(dead.Data)
	require.NoError(t, err)
	require.Equal(t, poison+"/poison.html", a.GetUrl())

	for _, p := range []*proc{norm, tagger, sink} {
		p.stop(t)
	}
}

// poisonSite serves a feed with one item whose page has no article at all.
func poisonSite(t *testing.T) string {
	mux := http.NewServeMux()
	var srv *httptest.Server
	mux.HandleFunc("/feed.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprintf(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>Poison</title><link>%[1]s/</link>
<item><title>Nothing here</title><link>%[1]s/poison.html</link><guid>%[1]s/poison.html</guid><pubDate>Mon, 02 Nov 2026 10:00:00 +0000</pubDate></item>
</channel></rss>`, srv.URL)
	})
	mux.HandleFunc("/poison.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><html><head><title>Oops</title></head><body><nav><a href="/">Home</a></nav><footer>© 2026</footer></body></html>`)
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// bulkDir writes bulkCopies sample-site pages as HTML files.
func bulkDir(t *testing.T, base string) string {
	dir := t.TempDir()
	articles := samplesite.Articles()
	pages := make([][]byte, len(articles))
	for i, a := range articles {
		resp, err := http.Get(base + a.Path())
		require.NoError(t, err)
		pages[i], err = io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	for i := range bulkCopies {
		name := filepath.Join(dir, fmt.Sprintf("page-%04d.html", i))
		require.NoError(t, os.WriteFile(name, pages[i%len(pages)], 0o644))
	}
	return dir
}

// consumersIdle reports whether every stage's consumer has nothing pending
// and nothing awaiting an ack (retries and redeliveries included).
func consumersIdle(t *testing.T, js jetstream.JetStream) bool {
	for _, c := range stage.Consumers() {
		if !consumerIdle(t, js, stage.StreamFor(c.Input), c.Name) {
			return false
		}
	}
	return true
}

// consumerIdle reports whether a stage's consumer exists and has nothing
// pending or awaiting an ack.
func consumerIdle(t *testing.T, js jetstream.JetStream, stream, name string) bool {
	n, ok := consumerBacklog(t, js, stream, name)
	return ok && n == 0
}

// consumerBacklog is how many messages a stage's consumer has pending or
// awaiting an ack; ok is false when it cannot be read (no consumer yet).
func consumerBacklog(t *testing.T, js jetstream.JetStream, stream, name string) (n uint64, ok bool) {
	c, err := js.Consumer(t.Context(), stream, name)
	if err != nil {
		return 0, false
	}
	info, err := c.Info(t.Context())
	if err != nil {
		return 0, false
	}
	return info.NumPending + uint64(info.NumAckPending), true
}

func jetStream(t *testing.T, url string) jetstream.JetStream {
	nc, err := nats.Connect(url)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return js
}

func streamMsgs(t *testing.T, js jetstream.JetStream, name string) uint64 {
	s, err := js.Stream(t.Context(), name)
	if err != nil {
		return 0
	}
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	return info.State.Msgs
}

func lastMsg(t *testing.T, js jetstream.JetStream, name string) *jetstream.RawStreamMsg {
	s, err := js.Stream(t.Context(), name)
	require.NoError(t, err)
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	m, err := s.GetMsg(t.Context(), info.State.LastSeq)
	require.NoError(t, err)
	return m
}

// metric sums the samples of a metric family whose labels include all of
// labels, from a service's /metrics.
func metric(t *testing.T, addr, name string, labels ...string) float64 {
	sum := 0.0
	for _, line := range scrape(addr, name) {
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if !ok {
			continue
		}
		fields := strings.Fields(line)
		if v, err := strconv.ParseFloat(fields[len(fields)-1], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// scrape returns the sample lines of the metric name (with its labels, if
// any) from a service's /metrics; none when the service does not answer.
// name may be a histogram's series name, such as name_bucket.
func scrape(addr, name string) []string {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var lines []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			lines = append(lines, line)
		}
	}
	return lines
}

type storedArticle struct {
	ID     string `json:"id"`
	URL    string `json:"url"`
	Title  string `json:"title"`
	Topics []struct {
		Code string `json:"code"`
	} `json:"topics"`
}

// listAll pages through the sink's article list, as a client that keeps
// to the API's rate limit: a 429 is waited out as its Retry-After says (a
// long run stores more pages than the limit's burst).
func listAll(t *testing.T, addr string) []storedArticle {
	var all []storedArticle
	cursor := ""
	for {
		q := url.Values{"limit": {"100"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		resp, err := http.Get("http://" + addr + "/api/v1/articles?" + q.Encode())
		require.NoError(t, err)
		if resp.StatusCode == http.StatusTooManyRequests {
			resp.Body.Close()
			wait, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			require.NoError(t, err, "429 without a Retry-After in seconds")
			time.Sleep(time.Duration(wait) * time.Second)
			continue
		}
		var page struct {
			Articles   []storedArticle `json:"articles"`
			NextCursor string          `json:"next_cursor"`
		}
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&page))
		resp.Body.Close()
		all = append(all, page.Articles...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
}

// streamArticles reads every message of a stream as an article.
func streamArticles(t *testing.T, js jetstream.JetStream, name string) []*newsflowv1.Article {
	s, err := js.Stream(t.Context(), name)
	require.NoError(t, err)
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	var out []*newsflowv1.Article
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(t.Context(), seq)
		require.NoError(t, err, "%s seq %d", name, seq)
		a, err := stage.DecodeArticle(m.Data)
		require.NoError(t, err)
		out = append(out, a)
	}
	return out
}
