package stage

import (
	"fmt"
	"os"
	"time"
)

// TimerSlackEnv names the environment variable that sets how late the
// kernel may let a timer of a newsflow process fire, so that it can wake
// the process for several at once (Linux's timer slack; see
// SlackTimers): a duration, "0" to keep what the process was started
// with (50µs unless the system says otherwise).
const TimerSlackEnv = "NEWSFLOW_TIMER_SLACK"

// DefaultTimerSlack is the timer slack a newsflow process runs with when
// TimerSlackEnv is unset.
const DefaultTimerSlack = time.Millisecond

// slackMarker is set in the environment of the re-executed process, so
// that it never executes itself again, whatever the kernel reports.
const slackMarker = "NEWSFLOW_TIMER_SLACK_SET"

// timerSlack reads the value of TimerSlackEnv.
func timerSlack(v string) (time.Duration, error) {
	if v == "" {
		return DefaultTimerSlack, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > time.Second {
		return 0, fmt.Errorf("%s=%q: want a duration from 0 to 1s", TimerSlackEnv, v)
	}
	return d, nil
}

// SlackTimers gives every thread of the process the timer slack
// TimerSlackEnv asks for, by executing the program once more with it; a
// binary's main calls it first. It returns when the slack is in place,
// not wanted, or cannot be set (said on stderr), and does nothing where
// the system has no timer slack.
//
// Why: Go's scheduler has a monitor thread that, while the process keeps
// making system calls, sleeps 20µs at a time. A stage woken for each
// message as it trickles in (every stage but the slowest, when the
// pipeline runs as separate processes) made the monitor sleep and wake
// about as often as it did anything else: half the context switches of
// TestLoad's distributed run were these. A slack set from inside the
// program reaches only the thread that sets it and those it starts
// later, but the monitor starts before main; a slack set before execve
// is kept by the new program and inherited by every thread it starts.
func SlackTimers() {
	if os.Getenv(slackMarker) != "" {
		_ = os.Unsetenv(slackMarker) // not for the processes this one starts
		return
	}
	d, err := timerSlack(os.Getenv(TimerSlackEnv))
	if err != nil {
		fmt.Fprintf(os.Stderr, "%v; keeping the timer slack the process has\n", err)
		return
	}
	if d == 0 {
		return
	}
	if err := reexecWithSlack(d); err != nil {
		fmt.Fprintf(os.Stderr, "%s: could not set a timer slack of %s (%v); running with the one the process has\n", TimerSlackEnv, d, err)
	}
}
