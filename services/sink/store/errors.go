package store

import (
	"context"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

var (
	// ErrNotFound is returned by Get when no article has the id.
	ErrNotFound = errors.New("article not found")
	// ErrInvalidCursor is returned by List for a cursor it did not issue, or
	// one issued for a query of the other kind (relevance versus time).
	ErrInvalidCursor = errors.New("invalid cursor")
	// ErrInvalidArticle is returned by Upsert for an article that can never be
	// stored as it is (no id, no content hash, a topic listed twice). It also
	// matches ErrPermanent.
	ErrInvalidArticle = errors.New("invalid article")

	// ErrTransient marks a failure of the environment (database busy or
	// locked, I/O, disk full, a cancelled context) that a retry may clear.
	ErrTransient = errors.New("transient store error")
	// ErrPermanent marks a failure that retrying the same input cannot fix
	// (constraint or type errors, invalid articles).
	ErrPermanent = errors.New("permanent store error")
)

// Transient reports whether err is worth retrying: the stage runtime naks
// such messages and dead-letters the others.
func Transient(err error) bool { return errors.Is(err, ErrTransient) }

// classify wraps err with op and with ErrTransient or ErrPermanent, so that
// callers decide with errors.Is rather than by inspecting driver codes.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrTransient) || errors.Is(err, ErrPermanent) {
		return fmt.Errorf("%s: %w", op, err)
	}
	kind := ErrPermanent
	if transientCause(err) {
		kind = ErrTransient
	}
	return fmt.Errorf("%s: %w: %w", op, kind, err)
}

func transientCause(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	if pg, transient := isPgError(err); pg {
		return transient
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		// Errors from database/sql itself (a closed pool, a broken
		// connection) and from pgx below the server (connection refused or
		// lost) are not about the message either.
		return true
	}
	switch se.Code() & 0xff { // the primary code; extended codes add high bits
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR,
		sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN,
		sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_INTERRUPT, sqlite3.SQLITE_READONLY,
		sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		// Corruption and a read-only file are the operator's to fix, not the
		// message's fault: dead-lettering every article meanwhile would lose
		// them, while naks keep them in the stream until MaxDeliver.
		return true
	}
	return false
}
