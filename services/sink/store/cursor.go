package store

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// cursor is the keyset position after the last article of a page. It is
// opaque to clients (base64 of JSON) but not secret or signed: a forged one
// can only move within results the same query could return anyway.
type cursor struct {
	Mode string  `json:"m"`           // modeTime, modeRank or modeStory
	At   int64   `json:"t,omitempty"` // sort_at, in modeTime
	Rank float64 `json:"r,omitempty"` // bm25 score, in modeRank
	ID   string  `json:"i"`
}

const (
	modeTime = "t"
	modeRank = "r"
	// modeStory pages stories by their newest article's time (At) and id.
	modeStory = "s"
)

func (c cursor) encode() string {
	b, err := json.Marshal(c)
	if err != nil {
		// A struct of a string, an int and a finite float always marshals.
		panic(fmt.Sprintf("encode cursor: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s, mode string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, fmt.Errorf("%w: %w", ErrInvalidCursor, err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%w: %w", ErrInvalidCursor, err)
	}
	if c.ID == "" {
		return c, fmt.Errorf("%w: no id", ErrInvalidCursor)
	}
	if c.Mode != mode {
		return c, fmt.Errorf("%w: issued for a query of another kind", ErrInvalidCursor)
	}
	return c, nil
}
