//go:build !linux

package stage

import "time"

// WithTimerSlack runs fn: only Linux has a timer slack to set.
func WithTimerSlack(d time.Duration, fn func(was time.Duration) error) error { return fn(d) }

// reexecWithSlack does nothing: only Linux has a timer slack to set.
func reexecWithSlack(time.Duration) error { return nil }
