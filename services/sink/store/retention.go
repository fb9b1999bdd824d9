package store

import (
	"context"
	"time"
)

// DeleteOlderThan deletes the articles published before cutoff (fetched
// before it, when the publication time is unknown), with their topics,
// entities, versions and story links, in transactions of at most batch
// articles so that no single one holds locks for long. It returns how many
// it deleted; on error, those deleted before it stay deleted.
func (s *Store) DeleteOlderThan(ctx context.Context, cutoff time.Time, batch int) (int, error) {
	batch = max(batch, 1)
	total := 0
	for {
		res, err := s.w.ExecContext(ctx, s.bind(`DELETE FROM articles WHERE seq IN (
			SELECT seq FROM articles WHERE sort_at < ? ORDER BY sort_at LIMIT ?)`), cutoff.UnixMicro(), batch)
		if err != nil {
			return total, classify("delete old articles", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, classify("delete old articles", err)
		}
		total += int(n)
		if n < int64(batch) {
			return total, nil
		}
	}
}
