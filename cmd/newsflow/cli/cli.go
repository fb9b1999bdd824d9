// Package cli is the newsflow command line: the all-in-one runner and the
// stages' work as commands.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/newsflow/newsflow/stage"
)

// Version is set at build time with -ldflags "-X ...cli.Version=...".
var Version = "dev"

// command is one newsflow command: its lines in the usage text and what
// runs it. Adding a command is adding a row to commands (and to the
// README's command table, which a test holds to this one).
type command struct {
	name string
	// synopsis holds the command's usage lines: the invocation, a tab, and
	// what it does.
	synopsis []string
	run      func(args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

// commands is every command, in the order of the usage text.
var commands = []command{
	{"run", []string{
		"[run] [flags]\trun the whole pipeline (embedded NATS, SQLite, sample site)",
		"run -once [flags]\tingest what the feeds hold now, wait until stored, summarise, exit",
	}, runCmd},
	{"extract", []string{
		"extract [-url URL] FILE…\textract article text from HTML or text files (\"-\" reads stdin)",
	}, extractCmd},
	{"tag", []string{
		"tag\ttag JSON Lines {\"id\",\"title\",\"text\"} from stdin",
	}, tagCmd},
	{"export", []string{
		"export [-data DIR]\twrite every stored article as JSON Lines",
	}, exportCmd},
	{"feeds", []string{
		"feeds add|remove URL…\tregister or unregister feeds (-data DIR or -nats URL)",
		"feeds list|stats [URL…]\tthe registered feeds, their health, schedule and errors",
	}, feedsCmd},
	{"tagger", []string{
		"tagger train|eval\ttrain a topic model on a labelled corpus; evaluate the tagger",
	}, taggerCmd},
	{"dead", []string{
		"dead [list|show|redrive|purge]\tthe dead letters: counts by stage, reason and source; one in full; back to their stage; deleted",
	}, deadCmd},
	{"replay", []string{
		"replay -stage STAGE [filters]\trun a stage again over retained history (after a rule fix or a new model)",
	}, replayCmd},
	{"status", []string{
		"status [-watch D] [-json]\tone screen: stages' rates, lag, oldest waiting, p99, dead letters; store; feeds",
	}, statusCmd},
	{"soak", []string{
		"soak [flags]\tpoll a farm of feeds on loopback for a while; report coverage, freshness, politeness, RSS",
	}, soakCmd},
	{"version", []string{
		"version\tprint the version",
	}, func(_ []string, _ io.Reader, stdout, _ io.Writer) error {
		fmt.Fprintln(stdout, "newsflow", Version)
		return nil
	}},
}

// usage is the text of "newsflow help", made from commands.
func usage() string {
	var b strings.Builder
	b.WriteString("newsflow: a streaming news-ingestion pipeline.\n\nUsage:\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, c := range commands {
		for _, line := range c.synopsis {
			fmt.Fprintf(tw, "  newsflow %s\n", line)
		}
	}
	tw.Flush()
	b.WriteString(`
Run "newsflow COMMAND -h" for a command's flags. Every flag can also be set
with a NEWSFLOW_* environment variable (-feeds-file is NEWSFLOW_FEEDS_FILE).
`)
	return b.String()
}

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// Main runs the command line and returns the exit code: 0 done, 1 failed,
// 2 bad usage.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	name := "run"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	switch name {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage())
		return 0
	}
	cmd, ok := lookup(name)
	if !ok {
		fmt.Fprintf(stderr, "newsflow: unknown command %q\n\n%s", name, usage())
		return 2
	}
	err := cmd.run(args, stdin, stdout, stderr)
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "newsflow %s: %v\n", name, err)
		return 2
	default:
		fmt.Fprintf(stderr, "newsflow %s: %v\n", name, err)
		return 1
	}
}

// usageError is bad input from the user: exit code 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// parse parses a command's flags (and their environment variables).
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := stage.ParseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}
