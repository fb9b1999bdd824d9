package store

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// StampedStages are the stages whose version stamps the store keeps; stage
// S's is in the articles column S_version.
var StampedStages = []string{"normalizer", "tagger"}

// madeByColumn is the articles column holding a stage's version stamp.
func madeByColumn(stage string) (string, error) {
	if !slices.Contains(StampedStages, stage) {
		return "", fmt.Errorf("no version stamps are kept for stage %q (%s)", stage, strings.Join(StampedStages, ", "))
	}
	return stage + "_version", nil
}

// stamp is one stage's version stamp, as Store.stamps keys it.
type stamp struct{ stage, version string }

// stampsOf is the stamps a's MadeBy names.
func stampsOf(a *Article) []stamp {
	var out []stamp
	for _, st := range []stamp{{"normalizer", a.MadeBy.Normalizer}, {"tagger", a.MadeBy.Tagger}} {
		if st.version != "" {
			out = append(out, st)
		}
	}
	return out
}

// recordStamps returns the statements that record, with the time now, the
// stamps of the written articles stage_versions does not hold yet. Which
// are held is remembered once a batch commits, so a batch usually has none.
func (s *Store) recordStamps(arts []*Article, res []Result, now time.Time) []stmt {
	var out []stmt
	planned := map[stamp]bool{}
	for i, a := range arts {
		if o := res[i].Outcome; o != Inserted && o != Updated {
			continue
		}
		for _, k := range stampsOf(a) {
			if _, known := s.stamps.Load(k); known || planned[k] {
				continue
			}
			planned[k] = true
			out = append(out, stmt{op: "record version " + k.version + " of " + k.stage,
				sql: s.bind(`INSERT INTO stage_versions (stage, version, first_seen) VALUES (?, ?, ?)
					ON CONFLICT (stage, version) DO NOTHING`),
				args: []any{k.stage, k.version, now.UnixMicro()}})
		}
	}
	return out
}

// StageVersion is a version stamp a stage's output was stored under.
type StageVersion struct {
	Version string `json:"version"` // "" for articles stored before stamps were kept
	// FirstSeen is when an article it made was first stored (zero for "").
	FirstSeen time.Time `json:"first_seen"`
	// Articles is how many stored articles it made.
	Articles int `json:"articles"`
}

// StageVersions lists the version stamps of stage ("normalizer" or
// "tagger") the store has seen, oldest first, with how many stored articles
// each made now.
func (s *Store) StageVersions(ctx context.Context, stage string) ([]StageVersion, error) {
	col, err := madeByColumn(stage)
	if err != nil {
		return nil, err
	}
	op := "versions of " + stage
	byVersion := map[string]*StageVersion{}
	rows, err := s.r.QueryContext(ctx, s.bind(`SELECT version, first_seen FROM stage_versions WHERE stage = ?`), stage)
	if err != nil {
		return nil, classify(op, err)
	}
	for rows.Next() {
		var v StageVersion
		var first int64
		if err := rows.Scan(&v.Version, &first); err != nil {
			rows.Close()
			return nil, classify(op, err)
		}
		v.FirstSeen = fromMicros(first)
		byVersion[v.Version] = &v
	}
	if err := rows.Close(); err != nil {
		return nil, classify(op, err)
	}
	if rows, err = s.r.QueryContext(ctx, `SELECT `+col+`, COUNT(*) FROM articles GROUP BY `+col); err != nil {
		return nil, classify(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var version string
		var n int
		if err := rows.Scan(&version, &n); err != nil {
			return nil, classify(op, err)
		}
		v := byVersion[version]
		if v == nil {
			v = &StageVersion{Version: version}
			byVersion[version] = v
		}
		v.Articles = n
	}
	if err := rows.Err(); err != nil {
		return nil, classify(op, err)
	}
	out := make([]StageVersion, 0, len(byVersion))
	for _, v := range byVersion {
		out = append(out, *v)
	}
	slices.SortFunc(out, func(a, b StageVersion) int {
		return cmp.Or(a.FirstSeen.Compare(b.FirstSeen), strings.Compare(a.Version, b.Version))
	})
	return out, nil
}

// MadeBefore returns the ids of the stored articles stage made under a
// version stamp first seen before version: older rules or an older model.
// Articles stored before stamps were kept count as older. A version the
// store has not seen yet (rules deployed but not yet stored under) is newer
// than every one it has: then every article another version made is
// returned.
func (s *Store) MadeBefore(ctx context.Context, stage, version string) ([]string, error) {
	col, err := madeByColumn(stage)
	if err != nil {
		return nil, err
	}
	op := "articles made by " + stage + " versions before " + version
	// The versions not older than version: those first seen at or after it.
	rows, err := s.r.QueryContext(ctx, s.bind(`SELECT a.id FROM articles a
		WHERE a.`+col+` <> ? AND a.`+col+` NOT IN (
			SELECT v.version FROM stage_versions v WHERE v.stage = ? AND v.first_seen >= COALESCE(
				(SELECT o.first_seen FROM stage_versions o WHERE o.stage = ? AND o.version = ?), ?))`),
		version, stage, stage, version, int64(math.MaxInt64))
	if err != nil {
		return nil, classify(op, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, classify(op, err)
		}
		ids = append(ids, id)
	}
	return ids, classify(op, rows.Err())
}
