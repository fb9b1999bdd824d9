// Package pgtest runs throwaway PostgreSQL clusters for tests and
// benchmarks: initdb in a temporary directory, the server on a free loopback
// port, stopped and removed afterwards. As root it runs the server as the
// postgres user, since PostgreSQL refuses to run as root.
//
// Without PostgreSQL's server binaries (Debian's postgresql package) tests
// that need a cluster are skipped, unless NEWSFLOW_REQUIRE_TOOLS=1 (set by
// test.sh), in which case they fail.
package pgtest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// Options shape a cluster.
type Options struct {
	// Durable keeps fsync on, for benchmarks that measure commits. Tests
	// run without it: a crash of the test machine loses nothing of value.
	Durable bool
}

// Cluster is a running (or stopped) throwaway PostgreSQL cluster.
type Cluster struct {
	dir  string
	bin  string
	port int
	cred *syscall.Credential // nil unless running as root
	opts Options
	dbs  atomic.Int64
}

// Start initialises a cluster in a new temporary directory and starts it.
func Start(opts Options) (*Cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin, opts: opts}
	if c.dir, err = os.MkdirTemp("", "newsflow-pg-"); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		if c.cred, err = postgresUser(); err != nil {
			os.RemoveAll(c.dir)
			return nil, err
		}
		if err := os.Chown(c.dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			os.RemoveAll(c.dir)
			return nil, err
		}
	}
	if c.port, err = freePort(); err != nil {
		os.RemoveAll(c.dir)
		return nil, err
	}
	if err := c.run("initdb", "-D", c.data(), "-U", "newsflow", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"); err != nil {
		os.RemoveAll(c.dir)
		return nil, err
	}
	if err := c.StartServer(); err != nil {
		os.RemoveAll(c.dir)
		return nil, err
	}
	return c, nil
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

// StartServer starts the server (again, after StopServer) and waits until it
// accepts connections.
func (c *Cluster) StartServer() error {
	settings := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200", c.port, c.dir)
	if !c.opts.Durable {
		settings += " -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
	}
	return c.run("pg_ctl", "-D", c.data(), "-l", filepath.Join(c.dir, "server.log"), "-w", "-t", "60", "-o", settings, "start")
}

// StopServer stops the server the way an operator or a failover would:
// pg_ctl stop -m fast (open transactions are rolled back, clients
// disconnected).
func (c *Cluster) StopServer() error {
	return c.run("pg_ctl", "-D", c.data(), "-w", "-t", "60", "-m", "fast", "stop")
}

// Close stops the server and removes the cluster's directory.
func (c *Cluster) Close() error {
	err := c.StopServer()
	return errors.Join(err, os.RemoveAll(c.dir))
}

// Port is the loopback TCP port the server listens on.
func (c *Cluster) Port() int { return c.port }

// DSN is the URL of database db in the cluster.
func (c *Cluster) DSN(db string) string {
	return fmt.Sprintf("postgres://newsflow@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// NewDatabase creates an empty database and returns its URL.
func (c *Cluster) NewDatabase(ctx context.Context) (string, error) {
	name := fmt.Sprintf("test_%d", c.dbs.Add(1))
	db, err := sql.Open("pgx", c.DSN("postgres"))
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name+" TEMPLATE template0"); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return c.DSN(name), nil
}

// run runs one of the server's programs, as the postgres user when root.
func (c *Cluster) run(prog string, args ...string) error {
	cmd := exec.Command(filepath.Join(c.bin, prog), args...)
	cmd.Dir = c.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	if err := cmd.Run(); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
		return fmt.Errorf("%s: %w\n%s\nserver log:\n%s", prog, err, out.Bytes(), log)
	}
	return nil
}

// binDir finds the directory of pg_ctl and initdb: the PATH's (Debian puts
// them under /usr/lib/postgresql/N/bin, not on the PATH), else the newest
// Debian version's.
func binDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's postgresql package")
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, so the server must run as the postgres user: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("postgres user: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

var (
	sharedOnce sync.Once
	shared     *Cluster
	sharedErr  error
)

// Shared returns the test binary's one cluster, started on first use; Main
// stops it. Without PostgreSQL the test is skipped, or fails when
// NEWSFLOW_REQUIRE_TOOLS=1. When benchmarks run (-test.bench) the cluster
// keeps fsync on, so that a commit costs what it costs in production.
func Shared(tb testing.TB) *Cluster {
	tb.Helper()
	sharedOnce.Do(func() {
		bench := flag.Lookup("test.bench")
		shared, sharedErr = Start(Options{Durable: bench != nil && bench.Value.String() != ""})
	})
	if sharedErr != nil {
		Unavailable(tb, sharedErr)
	}
	return shared
}

// Required says whether the test command requires every tool
// (NEWSFLOW_REQUIRE_TOOLS=1, set by test.sh), PostgreSQL included.
func Required() bool { return os.Getenv("NEWSFLOW_REQUIRE_TOOLS") == "1" }

// Unavailable skips tb for want of PostgreSQL, or fails it when the test
// command requires every tool.
func Unavailable(tb testing.TB, err error) {
	tb.Helper()
	if Required() {
		tb.Fatalf("PostgreSQL required (NEWSFLOW_REQUIRE_TOOLS=1): %v", err)
	}
	tb.Skipf("PostgreSQL unavailable: %v", err)
}

// Database returns the URL of a new empty database in the shared cluster.
func Database(tb testing.TB) string {
	tb.Helper()
	c := Shared(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn, err := c.NewDatabase(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return dsn
}

// Main runs the tests of a package that uses Shared, then stops the shared
// cluster: call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil {
		if err := shared.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest: stop cluster:", err)
		}
	}
	os.Exit(code)
}
