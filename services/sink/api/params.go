package api

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/newsflow/newsflow/services/sink/store"
)

const (
	defaultLimit = 20
	maxLimit     = 100
	maxQ         = 500 // characters
	maxTopic     = 200 // characters
	maxCursor    = 1024
	maxEntity    = 200 // characters
	maxSource    = 253 // a host name's longest
	maxDays      = 366
)

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
	q.Limit = defaultLimit
	if s := v.Get("q"); s != "" {
		if !utf8.ValidString(s) {
			return p, badParam("q", "q must be UTF-8 text")
		}
		if n := utf8.RuneCountInString(s); n > maxQ {
			return p, badParam("q", fmt.Sprintf("q is %d characters long, at most %d are allowed", n, maxQ))
		}
		q.Q = s
	}
	if s := v.Get("topic"); s != "" {
		if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxTopic {
			return p, badParam("topic", fmt.Sprintf("topic must be UTF-8 text of at most %d characters", maxTopic))
		}
		q.Topic = s
	}
	if s := v.Get("entity"); s != "" {
		if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxEntity {
			return p, badParam("entity", fmt.Sprintf("entity must be UTF-8 text of at most %d characters", maxEntity))
		}
		q.Entity = s
	}
	if s := v.Get("source"); s != "" {
		if len(s) > maxSource || !hostName.MatchString(s) {
			return p, badParam("source", "source must be a host name such as news.example.com")
		}
		q.Source = s
	}
	if s := v.Get("language"); s != "" {
		if !languageTag.MatchString(s) {
			return p, badParam("language", "language must be a language tag such as en or pt-BR")
		}
		q.Language = s
	}
	var err error
	if q.Since, err = ParseTime(v.Get("since"), false); err != nil {
		return p, badParam("since", "since: "+err.Error())
	}
	if q.Until, err = ParseTime(v.Get("until"), true); err != nil {
		return p, badParam("until", "until: "+err.Error())
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return p, badParam("until", "until must be after since")
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
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return p, badParam("limit", fmt.Sprintf("limit must be an integer from 1 to %d", maxLimit))
		}
		q.Limit = n
	}
	if s := v.Get("cursor"); s != "" {
		if len(s) > maxCursor {
			return p, badParam("cursor", "invalid cursor: it must come unchanged from next_cursor of the same query")
		}
		q.Cursor = s
	}
	if s := v.Get("full"); s != "" {
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
