package store

import (
	"context"
	"database/sql"
	"log/slog"
	"sync/atomic"
	"time"
)

// checkpointEvery is how often, at most, the checkpointer copies what the
// writer committed since into the database file.
const checkpointEvery = 200 * time.Millisecond

// checkpointer copies SQLite's write-ahead log into the database file
// beside the writer, on a connection of its own, so that the writer does
// not do it inside a write. Left to the writer's automatic checkpoint,
// every walPages frames one write copied the whole log into the file and
// synced it before it returned: large articles written back to back in
// batches of three took 2.2 ms at the median but 87–91 ms at the 99th
// percentile, a quarter of the writer's time in batches over 100 ms; with
// the checkpointer, 11–17 ms at the 99th percentile (two runs of 12,000
// articles; CPU +1% and +25%). BenchmarkWriteSmallBatches' batches of 6
// take a fifth less time with the same CPU (median of five pairs).
//
// A passive checkpoint waits for no reader or writer, but the writer
// starts the log over only when, at the start of a write, everything in
// it has been copied, which a checkpointer racing a busy writer never
// sees: the log grew without end (2.2 GB in 12 s of such writes). So once the log holds walPages frames
// (ckpt.long), the writer checkpoints itself after its next commit,
// copying only the frames the checkpointer has not, and its next write
// starts the log over. Its automatic checkpoint stays, four times further
// off, as the backstop should the checkpointer stop.
type checkpointer struct {
	db    *sql.DB
	wrote chan struct{} // a commit since the last checkpoint (buffered: 1)
	long  atomic.Bool   // the log is long: the writer is to restart it
	// restartAt is how many frames make the log long: walPages.
	restartAt int64
	stop      context.CancelFunc
	done      chan struct{}
}

// startCheckpointer opens a connection to the database at dsn and starts
// checkpointing after commits, at most every checkpointEvery; it waits,
// without polling, while nothing is written.
func startCheckpointer(dsn string) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{db: db, wrote: make(chan struct{}, 1), restartAt: walPages, stop: cancel, done: make(chan struct{})}
	go c.run(ctx)
	return c, nil
}

func (c *checkpointer) run(ctx context.Context) {
	defer close(c.done)
	failed := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wrote:
		}
		next := time.Now().Add(checkpointEvery)
		logged, _, err := checkpoint(ctx, c.db)
		if err != nil && ctx.Err() == nil && !failed {
			slog.Warn("sqlite checkpoint failed; the writer checkpoints itself meanwhile", "error", err)
		}
		failed = err != nil
		if err == nil && logged >= c.restartAt {
			c.long.Store(true)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
	}
}

// checkpoint runs a passive checkpoint on db and returns the frames in
// the log and how many of them are copied.
func checkpoint(ctx context.Context, db *sql.DB) (logged, copied int64, err error) {
	var busy int64
	err = db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logged, &copied)
	if err == nil && busy != 0 {
		copied = -1 // it could not start: another checkpoint was running
	}
	return logged, copied, err
}

// committed is called by the writer w after each commit: it checkpoints
// what the checkpointer has left when the log is long, so that w's next
// write starts it over.
func (c *checkpointer) committed(ctx context.Context, w *sql.DB) {
	if c == nil {
		return
	}
	select {
	case c.wrote <- struct{}{}:
	default: // one is waiting already
	}
	if !c.long.Swap(false) {
		return
	}
	if logged, copied, err := checkpoint(ctx, w); err != nil || copied < logged {
		c.long.Store(true) // try again after the next commit
	}
}

// close stops the checkpointer and closes its connection.
func (c *checkpointer) close() error {
	if c == nil {
		return nil
	}
	c.stop()
	<-c.done
	return c.db.Close()
}
