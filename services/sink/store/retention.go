package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// DeleteOlderThan deletes the articles published before cutoff (fetched
// before it, when the publication time is unknown), with their topics,
// entities, versions and story links, in transactions of at most batch
// articles so that no single one holds locks for long. It returns how many
// it deleted; on error, those deleted before it stay deleted.
func (s *Store) DeleteOlderThan(ctx context.Context, cutoff time.Time, batch int) (int, error) {
	batch = max(batch, 1)
	if s.pg {
		return s.deleteOlderThanPg(ctx, cutoff, batch)
	}
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

// deleteOlderThanPg is DeleteOlderThan on PostgreSQL: each batch also
// refreshes the summaries of the stories it took articles from, in its
// transaction.
func (s *Store) deleteOlderThanPg(ctx context.Context, cutoff time.Time, batch int) (int, error) {
	total := 0
	for {
		n := 0
		err := s.txPg(ctx, "delete old articles", func(tx pgx.Tx) error {
			var stories []string
			err := tx.QueryRow(ctx, `WITH doomed AS (
					SELECT seq, id FROM articles WHERE sort_at < $1 ORDER BY sort_at LIMIT $2 FOR UPDATE),
				touched AS (SELECT DISTINCT story_id FROM article_stories WHERE article_id IN (SELECT id FROM doomed)),
				gone AS (DELETE FROM articles WHERE seq IN (SELECT seq FROM doomed) RETURNING 1)
				SELECT (SELECT COUNT(*) FROM gone), ARRAY(SELECT story_id FROM touched)`, cutoff.UnixMicro(), batch).Scan(&n, &stories)
			if err != nil {
				return classify("delete old articles", err)
			}
			if len(stories) > 0 {
				if _, err := tx.Exec(ctx, `SELECT story_summaries_refresh($1)`, stories); err != nil {
					return classify("delete old articles: story summaries", err)
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < batch {
			return total, nil
		}
	}
}
