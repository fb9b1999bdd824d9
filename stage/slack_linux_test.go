package stage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// slackHelperEnv makes TestSlackHelper a program of its own: it calls
// SlackTimers and prints every thread's timer slack.
const slackHelperEnv = "STAGE_TEST_SLACK_HELPER"

func TestSlackHelper(t *testing.T) {
	if os.Getenv(slackHelperEnv) == "" {
		t.Skip("run by TestSlackTimersReachEveryThread")
	}
	SlackTimers()
	done := make(chan struct{})
	for range 4 { // threads started after the slack was set, too
		go func() {
			runtime.LockOSThread()
			<-done
		}()
	}
	time.Sleep(50 * time.Millisecond)
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	for _, task := range tasks {
		// /proc/TID is the thread (timerslack_ns is not under task/).
		b, err := os.ReadFile(filepath.Join("/proc", task.Name(), "timerslack_ns"))
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("slack", strings.TrimSpace(string(b)))
	}
	fmt.Println("marker", os.Getenv(slackMarker))
	close(done)
	os.Exit(0)
}

// slacks runs the helper with the environment variable TimerSlackEnv set
// to v (unset if v is "-") and returns its threads' timer slacks, its
// marker and its stderr.
func slacks(t *testing.T, v string) (ns []int64, marker, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSlackHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), slackHelperEnv+"=1")
	if v != "-" {
		cmd.Env = append(cmd.Env, TimerSlackEnv+"="+v)
	}
	var errb strings.Builder
	cmd.Stderr = &errb
	out, err := cmd.Output()
	require.NoError(t, err, "helper: %s%s", out, errb.String())
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "slack":
			n, err := strconv.ParseInt(f[1], 10, 64)
			require.NoError(t, err)
			ns = append(ns, n)
		case len(f) >= 1 && f[0] == "marker":
			marker = strings.TrimSpace(strings.TrimPrefix(line, "marker"))
		case len(f) == 2 && f[0] == "error":
			if strings.Contains(line, "permission denied") || strings.Contains(line, "operation not permitted") {
				t.Skip("reading other threads' timer slack needs CAP_SYS_NICE")
			}
			t.Fatalf("helper: %s", line)
		}
	}
	require.NotEmpty(t, ns, "helper printed no thread: %s", out)
	return ns, marker, errb.String()
}

// TestSlackTimersReachEveryThread: SlackTimers gives every thread of the
// process the slack asked for, Go's monitor thread (started before main)
// included, and leaves it alone when asked for 0 or something it cannot
// read. (The helper's slack before is this process's: a child inherits
// it.)
func TestSlackTimersReachEveryThread(t *testing.T) {
	own, err := os.ReadFile("/proc/self/timerslack_ns")
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("this kernel does not show timer slack (before 4.6)")
	}
	require.NoError(t, err)
	before, err := strconv.ParseInt(strings.TrimSpace(string(own)), 10, 64)
	require.NoError(t, err)
	if before >= (3 * time.Millisecond).Nanoseconds() {
		t.Skipf("this process already has a timer slack of %d ns", before)
	}

	ns, marker, _ := slacks(t, "3ms")
	require.Greater(t, len(ns), 4, "the helper's threads")
	for _, n := range ns {
		require.Equal(t, (3 * time.Millisecond).Nanoseconds(), n, "every thread: %v", ns)
	}
	require.Empty(t, marker, "the marker is not passed on")

	ns, _, _ = slacks(t, "-")
	for _, n := range ns {
		require.Equal(t, DefaultTimerSlack.Nanoseconds(), n, "unset: the default, every thread: %v", ns)
	}

	for _, v := range []string{"0", "soon"} {
		ns, _, stderr := slacks(t, v)
		for _, n := range ns {
			require.Equal(t, before, n, "%s=%s: the slack the process was started with, every thread: %v", TimerSlackEnv, v, ns)
		}
		if v == "soon" {
			require.Contains(t, stderr, TimerSlackEnv+`="soon"`)
		}
	}
}
