package api

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/newsflow/newsflow/services/sink/store"
)

const (
	defaultLimit = 20
	maxLimit     = 100
	maxQ         = 500 // characters
	maxQWords    = 16
	maxQPrefixes = 4
	maxTopic     = 200 // characters
	maxCursor    = 1024
	maxEntity    = 200 // characters
	maxSource    = 253 // a host name's longest
	maxDays      = 366
)

var storiesParams = []string{"topic", "entity", "source", "since", "until", "min_articles", "limit", "cursor"}

var listParams = []string{"q", "topic", "entity", "source", "language", "since", "until", "sort", "limit", "cursor", "full"}

var (
	languageTag = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$`)
	hostName    = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*(:[0-9]{1,5})?$`)
)

type listParamsParsed struct {
	query store.Query
	full  bool
}

// parseList validates the list endpoint's parameters. An empty value counts
// as absent, as an empty form field would send it.
func parseList(v url.Values) (listParamsParsed, error) {
	var p listParamsParsed
	if err := onlyParams(v, listParams...); err != nil {
		return p, err
	}
	q := &p.query
	if s := v.Get("q"); s != "" {
		if !utf8.ValidString(s) {
			return p, badParam("q", "q must be UTF-8 text")
		}
		if n := utf8.RuneCountInString(s); n > maxQ {
			return p, badParam("q", fmt.Sprintf("q is %d characters long, at most %d are allowed", n, maxQ))
		}
		// Each word is a term to match and each prefix an index range to
		// expand: bound both, so that one request cannot stall the store
		// (166 "a*" terms took 8.8 s on 3,000 articles).
		words, prefixes := 0, 0
		for w := range strings.FieldsSeq(s) {
			words++
			if strings.HasSuffix(w, "*") {
				prefixes++
			}
		}
		if words > maxQWords {
			return p, badParam("q", fmt.Sprintf("q has %d words, at most %d are allowed", words, maxQWords))
		}
		if prefixes > maxQPrefixes {
			return p, badParam("q", fmt.Sprintf("q has %d prefix searches (word*), at most %d are allowed", prefixes, maxQPrefixes))
		}
		q.Q = s
	}
	if err := parseFilters(v, &q.Topic, &q.Entity, &q.Source, &q.Since, &q.Until); err != nil {
		return p, err
	}
	if s := v.Get("language"); s != "" {
		if !languageTag.MatchString(s) {
			return p, badParam("language", "language must be a language tag such as en or pt-BR")
		}
		q.Language = s
	}
	switch v.Get("sort") {
	case "":
	case "published":
		q.ByPublished = true
	case "relevance":
		if q.Q == "" {
			return p, badParam("sort", "sort=relevance needs a search text in q")
		}
	default:
		return p, badParam("sort", "sort must be published or relevance")
	}
	if err := parsePage(v, &q.Limit, &q.Cursor); err != nil {
		return p, err
	}
	if s := v.Get("full"); s != "" {
		var err error
		if p.full, err = strconv.ParseBool(s); err != nil {
			return p, badParam("full", "full must be true or false")
		}
	}
	return p, nil
}

// ParseTime reads RFC 3339 or a date (YYYY-MM-DD, UTC), as the since and
// until parameters take them. A date as the end of a range means through
// the end of that day, since until is exclusive. "" is the zero time.
func ParseTime(s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("want RFC 3339 (2025-03-01T12:00:00Z) or a date (2025-03-01), got %q", s)
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

// onlyParams rejects parameters not in allowed and parameters given twice,
// naming the first in alphabetical order so that the answer is stable.
func onlyParams(v url.Values, allowed ...string) error {
	for _, name := range slices.Sorted(maps.Keys(v)) {
		switch {
		case name == "":
			return badParam("", "parameter with an empty name")
		case !slices.Contains(allowed, name):
			return badParam(name, fmt.Sprintf("unknown parameter %q", name))
		case len(v[name]) > 1:
			return badParam(name, fmt.Sprintf("parameter %q given more than once", name))
		}
	}
	return nil
}

// parseDays reads the sources endpoint's days parameter: how many days back
// the statistics reach (7 by default).
func parseDays(v url.Values) (int, error) {
	if err := onlyParams(v, "days"); err != nil {
		return 0, err
	}
	s := v.Get("days")
	if s == "" {
		return 7, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxDays {
		return 0, badParam("days", fmt.Sprintf("days must be an integer from 1 to %d", maxDays))
	}
	return n, nil
}

// parseFilters reads the filters the articles and stories listings share:
// topic, entity, source, since and until.
func parseFilters(v url.Values, topic, entity, source *string, since, until *time.Time) error {
	if s := v.Get("topic"); s != "" {
		if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxTopic {
			return badParam("topic", fmt.Sprintf("topic must be UTF-8 text of at most %d characters", maxTopic))
		}
		*topic = s
	}
	if s := v.Get("entity"); s != "" {
		if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxEntity {
			return badParam("entity", fmt.Sprintf("entity must be UTF-8 text of at most %d characters", maxEntity))
		}
		*entity = s
	}
	if s := v.Get("source"); s != "" {
		if len(s) > maxSource || !hostName.MatchString(s) {
			return badParam("source", "source must be a host name such as news.example.com")
		}
		*source = s
	}
	var err error
	if *since, err = ParseTime(v.Get("since"), false); err != nil {
		return badParam("since", "since: "+err.Error())
	}
	if *until, err = ParseTime(v.Get("until"), true); err != nil {
		return badParam("until", "until: "+err.Error())
	}
	if !since.IsZero() && !until.IsZero() && !since.Before(*until) {
		return badParam("until", "until must be after since")
	}
	return nil
}

// parsePage reads the page size and the cursor of a listing.
func parsePage(v url.Values, limit *int, cursor *string) error {
	*limit = defaultLimit
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return badParam("limit", fmt.Sprintf("limit must be an integer from 1 to %d", maxLimit))
		}
		*limit = n
	}
	if s := v.Get("cursor"); s != "" {
		if len(s) > maxCursor {
			return badParam("cursor", "invalid cursor: it must come unchanged from next_cursor of the same query")
		}
		*cursor = s
	}
	return nil
}

// maxMinArticles bounds min_articles: a story holds at most
// store.MaxStoryArticles articles that one can read.
const maxMinArticles = store.MaxStoryArticles

// parseStories validates the stories listing's parameters.
func parseStories(v url.Values) (store.StoryQuery, error) {
	var q store.StoryQuery
	if err := onlyParams(v, storiesParams...); err != nil {
		return q, err
	}
	if err := parseFilters(v, &q.Topic, &q.Entity, &q.Source, &q.Since, &q.Until); err != nil {
		return q, err
	}
	if s := v.Get("min_articles"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxMinArticles {
			return q, badParam("min_articles", fmt.Sprintf("min_articles must be an integer from 1 to %d", maxMinArticles))
		}
		q.MinArticles = n
	}
	if err := parsePage(v, &q.Limit, &q.Cursor); err != nil {
		return q, err
	}
	return q, nil
}

// queryParams parses the request's query string strictly: a malformed pair
// (a bad %-escape, a ';') or a NUL byte anywhere is a 400 naming the
// parameter, where url.URL.Query would drop the pair silently and answer
// unfiltered results.
func queryParams(r *http.Request) (url.Values, error) {
	v := url.Values{}
	for pair := range strings.SplitSeq(r.URL.RawQuery, "&") {
		if pair == "" {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil || strings.Contains(rawKey, ";") {
			return nil, badParam(rawKey, fmt.Sprintf("malformed query string near %q", truncateParam(pair)))
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil || strings.Contains(rawValue, ";") {
			return nil, badParam(key, fmt.Sprintf("parameter %q is malformed: %q is not a valid query value", key, truncateParam(rawValue)))
		}
		if strings.ContainsRune(key, 0) || strings.ContainsRune(value, 0) {
			return nil, badParam(key, fmt.Sprintf("parameter %q must not contain a NUL byte", strings.ReplaceAll(key, "\x00", `\0`)))
		}
		v.Add(key, value)
	}
	return v, nil
}

func truncateParam(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
