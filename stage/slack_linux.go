package stage

import (
	"os"
	"runtime"
	"syscall"
	"time"
)

// prctl(2) options.
const (
	prSetTimerSlack = 29
	prGetTimerSlack = 30
)

// WithTimerSlack runs fn on an OS thread whose timer slack is d, telling
// it the slack the thread had, and then gives the thread that slack back.
// What fn starts from the thread inherits d: a process it starts, and
// every thread of a program it executes. It returns fn's error, or the
// system's when the slack cannot be read or set (fn is not run then).
func WithTimerSlack(d time.Duration, fn func(was time.Duration) error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	was, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prGetTimerSlack, 0, 0)
	if errno != 0 {
		return errno
	}
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerSlack, uintptr(d.Nanoseconds()), 0); errno != 0 {
		return errno
	}
	defer syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerSlack, was, 0)
	return fn(time.Duration(was))
}

// reexecWithSlack executes the running program again with a timer slack of
// d, unless the process already has at least that much (the system set
// it, e.g. systemd's TimerSlackNSec). It returns only when it did not
// execute the program: nil if it did not need to.
func reexecWithSlack(d time.Duration) error {
	return WithTimerSlack(d, func(was time.Duration) error {
		if was >= d {
			return nil
		}
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		return syscall.Exec(exe, os.Args, append(os.Environ(), slackMarker+"=1"))
	})
}
