// Command newsflow runs the whole pipeline in one process and offers the
// stages' work on the command line (extract, tag, export).
package main

import (
	"os"

	"github.com/newsflow/newsflow/cmd/newsflow/cli"
	"github.com/newsflow/newsflow/stage"
)

func main() {
	stage.SlackTimers() // as the services do: see NEWSFLOW_TIMER_SLACK
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
