// Package cli is the newsflow command line: the all-in-one runner and the
// stages' work as commands.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/newsflow/newsflow/stage"
)

// Version is set at build time with -ldflags "-X ...cli.Version=...".
var Version = "dev"

const usage = `newsflow: a streaming news-ingestion pipeline.

Usage:
  newsflow [run] [flags]             run the whole pipeline (embedded NATS, SQLite, sample site)
  newsflow run -once [flags]         ingest what the feeds hold now, wait until stored, summarise, exit
  newsflow extract [-url URL] FILE…  extract article text from HTML or text files ("-" reads stdin)
  newsflow tag                       tag JSON Lines {"id","title","text"} from stdin
  newsflow export [-data DIR]        write every stored article as JSON Lines
  newsflow feeds add|remove URL…     register or unregister feeds (-data DIR or -nats URL)
  newsflow feeds list|stats [URL…]   the registered feeds, their health, schedule and errors
  newsflow tagger train|eval         train a topic model on a labelled corpus; evaluate the tagger
  newsflow soak [flags]              poll a farm of feeds on loopback for a while; report coverage, freshness, politeness, RSS
  newsflow version                   print the version

Run "newsflow COMMAND -h" for a command's flags. Every flag can also be set
with a NEWSFLOW_* environment variable (-feeds-file is NEWSFLOW_FEEDS_FILE).
`

// Main runs the command line and returns the exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "run"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "run":
		err = runCmd(args, stdout, stderr)
	case "extract":
		err = extractCmd(args, stdin, stdout, stderr)
	case "tag":
		err = tagCmd(args, stdin, stdout, stderr)
	case "export":
		err = exportCmd(args, stdout, stderr)
	case "feeds":
		err = feedsCmd(args, stdout, stderr)
	case "tagger":
		err = taggerCmd(args, stdout, stderr)
	case "soak":
		err = soakCmd(args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "newsflow", Version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "newsflow: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "newsflow %s: %v\n", cmd, err)
		return 2
	default:
		fmt.Fprintf(stderr, "newsflow %s: %v\n", cmd, err)
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
