package store

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// SourceStats is what one source (site) contributed over a period: for
// operators to spot a site whose articles stopped arriving, which is what a
// layout change that breaks extraction looks like from the store.
type SourceStats struct {
	Source   string     `json:"source"`
	Articles int        `json:"articles"`
	Days     []DayCount `json:"days"` // oldest first; days without articles omitted
	// LastStored is when the newest article from the source was stored
	// (null when none was).
	LastStored *time.Time `json:"last_stored"`
	// DeadLetters counts the source's articles that a stage gave up on,
	// by stage and reason; EmptyExtractions is the normalizer's
	// empty_extraction share of them, the usual sign of a changed layout.
	DeadLetters      []DeadLetterCount `json:"dead_letters"`
	EmptyExtractions int               `json:"empty_extractions"`
}

// DeadLetterCount is how many dead letters one stage sent for one reason.
type DeadLetterCount struct {
	Stage  string `json:"stage"`
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

const microsPerDay = int64(24 * time.Hour / time.Microsecond)

// CountDeadLetter adds one dead letter, sent by stage for reason on the day
// of at, to source's statistics.
func (s *Store) CountDeadLetter(ctx context.Context, source, stage, reason string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, s.bind(`INSERT INTO source_dead_letters (source, day, stage, reason, count)
		VALUES (?, ?, ?, ?, 1)
		ON CONFLICT (source, day, stage, reason) DO UPDATE SET count = source_dead_letters.count + 1`),
		source, at.UnixMicro()/microsPerDay, stage, reason)
	return classify("count dead letter", err)
}

// DayCount is the number of articles stored on one UTC day.
type DayCount struct {
	Day      string `json:"day"` // YYYY-MM-DD
	Articles int    `json:"articles"`
}

// Sources returns, per source, the articles stored since since (by stored
// time) and the dead letters counted since then, busiest source first.
func (s *Store) Sources(ctx context.Context, since time.Time) ([]SourceStats, error) {
	const day = microsPerDay // as in the statement
	rows, err := s.r.QueryContext(ctx, s.bind(`SELECT source, stored_at / 86400000000 AS day, COUNT(*), MAX(stored_at)
		FROM articles WHERE stored_at >= ? GROUP BY source, day ORDER BY source, day`), since.UnixMicro())
	if err != nil {
		return nil, classify("source statistics", err)
	}
	defer rows.Close()
	var out []SourceStats
	for rows.Next() {
		var src string
		var d, last int64
		var n int
		if err := rows.Scan(&src, &d, &n, &last); err != nil {
			return nil, classify("source statistics", err)
		}
		if len(out) == 0 || out[len(out)-1].Source != src {
			out = append(out, SourceStats{Source: src, Days: []DayCount{}, DeadLetters: []DeadLetterCount{}})
		}
		st := &out[len(out)-1]
		st.Articles += n
		st.Days = append(st.Days, DayCount{Day: time.UnixMicro(d * day).UTC().Format(time.DateOnly), Articles: n})
		if t := fromMicros(last); st.LastStored == nil || t.After(*st.LastStored) {
			st.LastStored = &t
		}
	}
	if err := rows.Err(); err != nil {
		return nil, classify("source statistics", err)
	}
	if err := s.addDeadLetters(ctx, since, &out); err != nil {
		return nil, err
	}
	sortSources(out)
	return out, nil
}

// addDeadLetters adds the dead letters counted since since to out, adding
// the sources that stored nothing.
func (s *Store) addDeadLetters(ctx context.Context, since time.Time, out *[]SourceStats) error {
	index := map[string]int{}
	for i, st := range *out {
		index[st.Source] = i
	}
	rows, err := s.r.QueryContext(ctx, s.bind(`SELECT source, stage, reason, SUM(count) FROM source_dead_letters
		WHERE day >= ? GROUP BY source, stage, reason ORDER BY source, stage, reason`), since.UnixMicro()/microsPerDay)
	if err != nil {
		return classify("source statistics: dead letters", err)
	}
	defer rows.Close()
	for rows.Next() {
		var src string
		var c DeadLetterCount
		if err := rows.Scan(&src, &c.Stage, &c.Reason, &c.Count); err != nil {
			return classify("source statistics: dead letters", err)
		}
		i, ok := index[src]
		if !ok {
			i = len(*out)
			index[src] = i
			*out = append(*out, SourceStats{Source: src, Days: []DayCount{}, DeadLetters: []DeadLetterCount{}})
		}
		st := &(*out)[i]
		st.DeadLetters = append(st.DeadLetters, c)
		if c.Reason == "empty_extraction" {
			st.EmptyExtractions += c.Count
		}
	}
	return classify("source statistics: dead letters", rows.Err())
}

func sortSources(out []SourceStats) {
	slices.SortStableFunc(out, func(a, b SourceStats) int {
		return cmp.Or(cmp.Compare(b.Articles, a.Articles), cmp.Compare(a.Source, b.Source))
	})
}
