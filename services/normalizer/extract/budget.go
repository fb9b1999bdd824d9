package extract

import "time"

// budget is a cooperative deadline: the tree walks and the tokenizer loop
// call spent as they go and stop once it says so, so a hostile page ends
// with ErrTimeout instead of holding the stage. The clock is read only every
// checkEvery calls (and on the first), to keep the walks cheap.
type budget struct {
	deadline time.Time // zero: no limit
	calls    int
	over     bool
}

const checkEvery = 256

func newBudget(deadline time.Time) *budget { return &budget{deadline: deadline} }

// spent reports whether the deadline has passed.
func (b *budget) spent() bool {
	if b.over {
		return true
	}
	if b.deadline.IsZero() {
		return false
	}
	if b.calls%checkEvery == 0 && !time.Now().Before(b.deadline) {
		b.over = true
	}
	b.calls++
	return b.over
}

// expired reads the clock now: for the checks between phases.
func (b *budget) expired() bool {
	if !b.over && !b.deadline.IsZero() && !time.Now().Before(b.deadline) {
		b.over = true
	}
	return b.over
}
