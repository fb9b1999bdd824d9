package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrStoreLost says the SQLite database file the store opened is gone or was
// replaced under it (deleted, moved away, a different file put at its path):
// writes would go to a file nobody will read again. It also matches
// ErrTransient, so the stage holds what it has instead of acking it; the
// sink stays not ready until it is restarted on a file it can keep.
var ErrStoreLost = errors.New("database file lost")

// fileIdent is a file's device and inode: what stays the same while the file
// does, across renames of other files and writes to this one.
type fileIdent struct{ dev, ino uint64 }

func identify(path string) (fileIdent, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileIdent{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileIdent{}, nil // no inode here: nothing to compare
	}
	return fileIdent{dev: uint64(st.Dev), ino: st.Ino}, nil
}

// checkFile reports ErrStoreLost when the SQLite file at the store's path is
// not the one it opened; nil for PostgreSQL and in-memory stores.
func (s *Store) checkFile() error {
	if s.path == "" {
		return nil
	}
	now, err := identify(s.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%w: %w: %s was removed while open; articles written since are not in any file: restore it or restart the sink to start a new database, then replay", ErrStoreLost, ErrTransient, s.path)
	case err != nil:
		return fmt.Errorf("check database file: %w: %w", ErrTransient, err)
	case now != s.ident:
		return fmt.Errorf("%w: %w: %s is another file than the one opened (inode %d, now %d); restart the sink to use it", ErrStoreLost, ErrTransient, s.path, s.ident.ino, now.ino)
	}
	return nil
}
