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
	// LastStored is when the newest article from the source was stored.
	LastStored time.Time `json:"last_stored"`
}

// DayCount is the number of articles stored on one UTC day.
type DayCount struct {
	Day      string `json:"day"` // YYYY-MM-DD
	Articles int    `json:"articles"`
}

// Sources returns, per source, the articles stored since since (by stored
// time), busiest source first.
func (s *Store) Sources(ctx context.Context, since time.Time) ([]SourceStats, error) {
	const day = int64(24 * time.Hour / time.Microsecond) // as in the statement
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
			out = append(out, SourceStats{Source: src, Days: []DayCount{}})
		}
		st := &out[len(out)-1]
		st.Articles += n
		st.Days = append(st.Days, DayCount{Day: time.UnixMicro(d * day).UTC().Format(time.DateOnly), Articles: n})
		if t := fromMicros(last); t.After(st.LastStored) {
			st.LastStored = t
		}
	}
	if err := rows.Err(); err != nil {
		return nil, classify("source statistics", err)
	}
	sortSources(out)
	return out, nil
}

func sortSources(out []SourceStats) {
	slices.SortStableFunc(out, func(a, b SourceStats) int {
		return cmp.Or(cmp.Compare(b.Articles, a.Articles), cmp.Compare(a.Source, b.Source))
	})
}
