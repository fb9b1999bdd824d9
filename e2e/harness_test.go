package e2e

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/stage"
)

// binDir holds the binaries built once for all tests.
var binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("e2e: skipped in -short mode")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "newsflow-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	if err := buildAll(dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildAll builds the services and nats-server into dir. NATS_SERVER_BIN,
// when set, names an installed nats-server to use instead.
func buildAll(dir string) error {
	pkgs := map[string]string{
		"fetcher":    "github.com/newsflow/newsflow/services/fetcher/cmd/fetcher",
		"normalizer": "github.com/newsflow/newsflow/services/normalizer/cmd/normalizer",
		"tagger":     "github.com/newsflow/newsflow/services/tagger/cmd/tagger",
		"sink":       "github.com/newsflow/newsflow/services/sink/cmd/sink",
		"newsflow":   "github.com/newsflow/newsflow/cmd/newsflow",
	}
	if bin := os.Getenv("NATS_SERVER_BIN"); bin != "" {
		if err := os.Symlink(bin, filepath.Join(dir, "nats-server")); err != nil {
			return err
		}
	} else {
		pkgs["nats-server"] = "github.com/nats-io/nats-server/v2"
	}
	args := []string{"build", "-o", dir + string(os.PathSeparator)}
	for _, p := range pkgs {
		args = append(args, p)
	}
	cmd := exec.Command("go", args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a service running as its own process.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error
	peak atomic.Int64 // the largest VmHWM read, in bytes
}

// watchPeak reads the process's peak resident memory (VmHWM) every 50 ms
// until it exits. (The rusage of an exited child is no use here: Linux
// carries the parent's peak over the exec.)
func (p *proc) watchPeak() {
	status := filepath.Join("/proc", strconv.Itoa(p.cmd.Process.Pid), "status")
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		if b, err := os.ReadFile(status); err == nil {
			for line := range strings.Lines(string(b)) {
				if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
					if kb<<10 > p.peak.Load() {
						p.peak.Store(kb << 10)
					}
				}
			}
		}
		select {
		case <-p.done:
			return
		case <-t.C:
		}
	}
}

// start runs binary name with args, logging to a file in the test's
// directory that is printed when the test fails.
func start(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	return startEnv(t, nil, name, args...)
}

// startEnv is start with extra environment variables.
func startEnv(t *testing.T, env []string, name string, args ...string) *proc {
	t.Helper()
	return startSlack(t, 0, env, name, args...)
}

// startSlack is startEnv with the process's timer slack set to slack (0:
// this process's), as systemd's TimerSlackNSec does; on Linux only.
func startSlack(t *testing.T, slack time.Duration, env []string, name string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, name), args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(append(os.Environ(), "NEWSFLOW_LOG_FORMAT=text"), env...)
	if slack > 0 {
		err = stage.WithTimerSlack(slack, func(time.Duration) error { return cmd.Start() })
	} else {
		err = cmd.Start()
	}
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{name: name, cmd: cmd, log: f, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	go p.watchPeak()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			out, _ := os.ReadFile(logPath)
			t.Logf("--- %s log ---\n%s", name, tail(string(out), 60))
		}
		f.Close()
	})
	return p
}

// cost is what a process used over its run: CPU time (user and system),
// the system part of it, its context switches (voluntary: it waited for
// something; involuntary: it was preempted) and its peak resident memory.
type cost struct {
	cpu, sys  time.Duration
	switches  int64 // voluntary and involuntary
	preempted int64 // of them involuntary
	maxRSS    int64
}

// usage is what an exited process used, its peak memory as last read.
func (p *proc) usage() cost {
	st := p.cmd.ProcessState
	if st == nil {
		return cost{}
	}
	c := cost{cpu: st.UserTime() + st.SystemTime(), sys: st.SystemTime(), maxRSS: p.peak.Load()}
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		c.switches, c.preempted = ru.Nvcsw+ru.Nivcsw, ru.Nivcsw
	}
	return c
}

// cpuNow is the CPU time (user and system) the running process has used
// so far, from /proc/PID/stat (in clock ticks of 10 ms, Linux's USER_HZ);
// 0 if it cannot be read.
func (p *proc) cpuNow() time.Duration {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.cmd.Process.Pid), "stat"))
	if err != nil {
		return 0
	}
	// The fields after the command name, which may hold spaces, in its
	// parentheses: utime and stime are the 12th and 13th of them.
	_, rest, ok := strings.Cut(string(b), ") ")
	fields := strings.Fields(rest)
	if !ok || len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			t.Errorf("%s exited with %v after SIGTERM", p.name, p.err)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("%s did not stop within 30s of SIGTERM", p.name)
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// wait waits for the process to exit by itself.
func (p *proc) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		t.Fatalf("%s still running after %s", p.name, timeout)
		return nil
	}
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// natsServer runs the real nats-server binary with JetStream on loopback.
func natsServer(t *testing.T) (url string) {
	t.Helper()
	addr := freeAddr(t)
	natsAt(t, addr, t.TempDir())
	return "nats://" + addr
}

// natsAt runs nats-server on addr with JetStream storage in store (extra
// lines go into its configuration file), and waits until it listens. Run
// it again with the same arguments after a kill to restart the server on
// its store. NEWSFLOW_LOAD_NATS_SLACK (a duration) gives it that timer
// slack (see natsSlack).
func natsAt(t *testing.T, addr, store string, extra ...string) *proc {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(store, "nats.conf")
	err := os.WriteFile(conf, []byte(fmt.Sprintf("listen: %s:%s\nmax_payload: 8MB\njetstream {\n  store_dir: %q\n}\n%s", host, port, filepath.Join(store, "js"), strings.Join(extra, "\n"))), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p := startSlack(t, natsSlack(t), nil, "nats-server", "-c", conf)
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 20*time.Second, 100*time.Millisecond, "nats-server listening")
	return p
}
