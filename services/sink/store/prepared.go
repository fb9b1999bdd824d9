package store

import (
	"context"
	"database/sql"
	"sync"
)

// SQLite parses and plans a statement every time it runs one from its
// text: in the sink's profile under TestLoad that was a sixth of its CPU.
// The writes of a batch keep to a few statement texts, so the writer's
// connection keeps them prepared. A text is prepared once a transaction
// has used it, after its commit: the writer has one connection, which the
// transaction holds. The multi-row inserts vary with their row count, and
// the state query with the batch size, so the cache is bounded; a text
// that does not fit is run from its text as before.
const preparedMax = 64

// preparedSet is the writer's cache of prepared statements, by text.
type preparedSet struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// get returns the prepared statement for q, or nil.
func (p *preparedSet) get(q string) *sql.Stmt {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stmts[q]
}

// prepare prepares on db those of texts not yet prepared, while there is
// room. It must not be called with a transaction of db open on this
// goroutine. A text that fails to prepare is left to run from its text.
func (p *preparedSet) prepare(ctx context.Context, db *sql.DB, texts []string) {
	for _, q := range texts {
		p.mu.Lock()
		_, have := p.stmts[q]
		full := len(p.stmts) >= preparedMax
		p.mu.Unlock()
		if have || full {
			continue
		}
		// Not under the lock: preparing waits for the connection, which
		// another goroutine's transaction may hold while it calls get.
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		p.mu.Lock()
		if _, have := p.stmts[q]; have || len(p.stmts) >= preparedMax {
			st.Close()
		} else {
			if p.stmts == nil {
				p.stmts = map[string]*sql.Stmt{}
			}
			p.stmts[q] = st
		}
		p.mu.Unlock()
	}
}

// close closes the prepared statements.
func (p *preparedSet) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for q, st := range p.stmts {
		st.Close()
		delete(p.stmts, q)
	}
}

// txPrepared runs statements in a transaction with the prepared ones of a
// set, noting the texts it ran that were not prepared.
type txPrepared struct {
	tx     *sql.Tx
	set    *preparedSet
	missed []string
}

func (t *txPrepared) exec(ctx context.Context, q string, args ...any) error {
	if st := t.set.get(q); st != nil {
		_, err := t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
		return err
	}
	t.missed = append(t.missed, q)
	_, err := t.tx.ExecContext(ctx, q, args...)
	return err
}

func (t *txPrepared) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := t.set.get(q); st != nil {
		return t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	t.missed = append(t.missed, q)
	return t.tx.QueryContext(ctx, q, args...)
}
