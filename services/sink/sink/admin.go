package sink

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsflow/newsflow/services/sink/api"
	"github.com/newsflow/newsflow/stage/ops"
)

// adminMaxItems bounds the dead letters one listing returns.
const adminMaxItems = 1000

// deadLetterAPI serves the dead letters to operators holding an admin
// token: what "newsflow dead" does, over HTTP.
//
//	GET  /api/v1/admin/dead            counts by stage, reason and source, then items (?limit=, default 100)
//	GET  /api/v1/admin/dead/{seq}      one dead letter
//	POST /api/v1/admin/dead/redrive    back to their stage's input (?dry_run=true to look first)
//	POST /api/v1/admin/dead/purge      delete (a filter, seq= or all=true is required)
//
// Filters, as query parameters: stage, reason, source, since, until (RFC
// 3339 or a date) and seq (repeated, or comma-separated).
type deadLetterAPI struct {
	js jetstream.JetStream
}

func (d deadLetterAPI) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/admin/dead", d.list)
	mux.HandleFunc("GET /api/v1/admin/dead/{seq}", d.show)
	mux.HandleFunc("POST /api/v1/admin/dead/redrive", d.redrive)
	mux.HandleFunc("POST /api/v1/admin/dead/purge", d.purge)
}

type letterJSON struct {
	Seq        uint64    `json:"seq"`
	Time       time.Time `json:"time"`
	Stage      string    `json:"stage"`
	Reason     string    `json:"reason"`
	Error      string    `json:"error"`
	Deliveries uint64    `json:"deliveries"`
	Source     string    `json:"source"`
	URL        string    `json:"url,omitempty"`
	ArticleID  string    `json:"article_id,omitempty"`
	InputID    string    `json:"input_id,omitempty"`
	Original   string    `json:"original,omitempty"`
	Omitted    bool      `json:"payload_omitted,omitempty"`
}

func toJSON(l ops.Letter) letterJSON {
	return letterJSON{Seq: l.Seq, Time: l.Time.UTC(), Stage: l.Stage, Reason: l.Reason, Error: l.Error,
		Deliveries: l.Deliveries, Source: l.SourceHost(), URL: l.URL(), ArticleID: l.ArticleID,
		InputID: l.InputID, Original: l.Source, Omitted: l.PayloadOmitted}
}

type badRequest struct{ error }

// filter reads the query's filters.
func filter(r *http.Request) (ops.Filter, error) {
	q := r.URL.Query()
	f := ops.Filter{Stage: q.Get("stage"), Reason: q.Get("reason"), Source: q.Get("source")}
	var errs []error
	var err error
	if f.Since, err = api.ParseTime(q.Get("since"), false); err != nil {
		errs = append(errs, err)
	}
	if f.Until, err = api.ParseTime(q.Get("until"), true); err != nil {
		errs = append(errs, err)
	}
	for _, v := range q["seq"] {
		for s := range strings.SplitSeq(v, ",") {
			seq, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
			if err != nil || seq == 0 {
				errs = append(errs, errors.New("seq: want positive integers"))
				continue
			}
			f.Seqs = append(f.Seqs, seq)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return f, badRequest{err}
	}
	return f, nil
}

func fail(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var br badRequest
	switch {
	case errors.As(err, &br):
		status = http.StatusBadRequest
	case errors.Is(err, jetstream.ErrMsgNotFound):
		status = http.StatusNotFound
	}
	reply(w, status, map[string]string{"error": err.Error()})
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

type deadCount struct {
	Stage  string `json:"stage"`
	Reason string `json:"reason"`
	Source string `json:"source"`
	Count  int    `json:"count"`
}

func (d deadLetterAPI) list(w http.ResponseWriter, r *http.Request) {
	f, err := filter(r)
	if err != nil {
		fail(w, err)
		return
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 0 || limit > adminMaxItems {
			fail(w, badRequest{errors.New("limit: want 0 to 1000")})
			return
		}
	}
	counts := map[[3]string]int{}
	var keys [][3]string
	items := []letterJSON{}
	total := 0
	err = ops.EachDead(r.Context(), d.js, f, func(l ops.Letter) error {
		total++
		k := [3]string{l.Stage, l.Reason, l.SourceHost()}
		if counts[k] == 0 {
			keys = append(keys, k)
		}
		counts[k]++
		if len(items) < limit {
			items = append(items, toJSON(l))
		}
		return nil
	})
	if err != nil {
		fail(w, err)
		return
	}
	out := []deadCount{}
	for _, k := range keys {
		out = append(out, deadCount{k[0], k[1], k[2], counts[k]})
	}
	reply(w, http.StatusOK, map[string]any{"total": total, "counts": out, "items": items})
}

func (d deadLetterAPI) show(w http.ResponseWriter, r *http.Request) {
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil {
		fail(w, badRequest{errors.New("seq: want a positive integer")})
		return
	}
	l, err := ops.GetDead(r.Context(), d.js, seq)
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, toJSON(l))
}

func (d deadLetterAPI) redrive(w http.ResponseWriter, r *http.Request) {
	f, err := filter(r)
	if err != nil {
		fail(w, err)
		return
	}
	var letters []ops.Letter
	if err := ops.EachDead(r.Context(), d.js, f, func(l ops.Letter) error { letters = append(letters, l); return nil }); err != nil {
		fail(w, err)
		return
	}
	type failure struct {
		Seq   uint64 `json:"seq"`
		Error string `json:"error"`
	}
	res := struct {
		Selected  int       `json:"selected"`
		Redriven  int       `json:"redriven"`
		DryRun    bool      `json:"dry_run"`
		Failed    []failure `json:"failed"`
		Redriving []uint64  `json:"seqs"`
	}{Selected: len(letters), DryRun: r.URL.Query().Get("dry_run") == "true", Failed: []failure{}, Redriving: []uint64{}}
	for _, l := range letters {
		res.Redriving = append(res.Redriving, l.Seq)
		if res.DryRun {
			continue
		}
		if _, err := ops.Redrive(r.Context(), d.js, l); err != nil {
			res.Failed = append(res.Failed, failure{l.Seq, err.Error()})
			continue
		}
		res.Redriven++
	}
	status := http.StatusOK
	if len(res.Failed) > 0 {
		status = http.StatusMultiStatus
	}
	reply(w, status, res)
}

func (d deadLetterAPI) purge(w http.ResponseWriter, r *http.Request) {
	f, err := filter(r)
	if err != nil {
		fail(w, err)
		return
	}
	if f.Stage == "" && f.Reason == "" && f.Source == "" && f.Since.IsZero() && f.Until.IsZero() && len(f.Seqs) == 0 && r.URL.Query().Get("all") != "true" {
		fail(w, badRequest{errors.New("purge deletes what the filters or seq select: give some, or all=true")})
		return
	}
	var seqs []uint64
	if err := ops.EachDead(r.Context(), d.js, f, func(l ops.Letter) error { seqs = append(seqs, l.Seq); return nil }); err != nil {
		fail(w, err)
		return
	}
	deleted := 0
	var errs []string
	for _, seq := range seqs {
		if err := ops.DeleteDead(r.Context(), d.js, seq); err != nil {
			errs = append(errs, err.Error())
			continue
		}
		deleted++
	}
	status := http.StatusOK
	if len(errs) > 0 {
		status = http.StatusMultiStatus
	}
	reply(w, status, map[string]any{"deleted": deleted, "errors": append([]string{}, errs...)})
}
