package stage

import (
	"errors"
	"fmt"
)

// ErrDuplicate, returned by a Handler, says the message was already fully
// processed (a redelivery): it is acked and counted as a duplicate.
var ErrDuplicate = errors.New("duplicate")

// PermanentError marks a failure that retrying cannot fix. The message goes to
// the dead-letter subject at once. Reason is a short, bounded label
// ("empty_extraction", "decode", "oversize") used in metrics and headers.
type PermanentError struct {
	Reason string
	Err    error
}

func (e *PermanentError) Error() string { return e.Reason + ": " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a permanent failure with a bounded reason label.
func Permanent(reason string, err error) error {
	if err == nil {
		err = errors.New(reason)
	}
	return &PermanentError{Reason: reason, Err: err}
}

// Permanentf is Permanent with a formatted error.
func Permanentf(reason, format string, args ...any) error {
	return Permanent(reason, fmt.Errorf(format, args...))
}

// permanentReason reports whether err is permanent and its reason label.
func permanentReason(err error) (string, bool) {
	var pe *PermanentError
	if errors.As(err, &pe) {
		return pe.Reason, true
	}
	return "", false
}

// ErrUnavailable marks a failure of a dependency that is down as a whole (the
// store, NATS), not of the message: the runtime holds such messages and
// retries them for as long as the outage lasts, pausing its pulls and
// reporting not ready, without spending their delivery budget.
var ErrUnavailable = errors.New("dependency unavailable")

// Unavailable wraps err as ErrUnavailable.
func Unavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w (%w)", err, ErrUnavailable)
}
