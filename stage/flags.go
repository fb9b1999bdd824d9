package stage

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// EnvPrefix is prepended to a flag's upper-cased name to form its
// environment variable: -max-deliver is NEWSFLOW_MAX_DELIVER.
const EnvPrefix = "NEWSFLOW_"

// EnvName returns the environment variable that sets the named flag.
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// ParseFlags fills fs from the environment and then from args, so a flag on
// the command line beats its variable, which beats the default. -h prints
// every flag with its variable and returns flag.ErrHelp.
func ParseFlags(fs *flag.FlagSet, args []string) error {
	fs.Usage = func() { PrintUsage(fs) }
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		v, ok := os.LookupEnv(EnvName(f.Name))
		if !ok {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", EnvName(f.Name), v, err))
		}
	})
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return fs.Parse(args)
}

// PrintUsage lists every flag of fs with its default and environment variable.
func PrintUsage(fs *flag.FlagSet) {
	out := fs.Output()
	fmt.Fprintf(out, "Usage of %s:\n", fs.Name())
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		line := "  -" + f.Name
		if name != "" {
			line += " " + name
		}
		fmt.Fprintf(out, "%s\n    \t%s", line, strings.ReplaceAll(usage, "\n", "\n    \t"))
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
			fmt.Fprintf(out, " (default %q)", f.DefValue)
		}
		fmt.Fprintf(out, " [$%s]\n", EnvName(f.Name))
	})
}

// Problems collects configuration problems, each naming its flag, so that
// Validate methods report every problem at once.
type Problems []error

// Add records a problem with -flag.
func (p *Problems) Add(flag, format string, args ...any) {
	*p = append(*p, fmt.Errorf("-%s: %s", flag, fmt.Sprintf(format, args...)))
}

// Err joins the problems (nil when there are none).
func (p Problems) Err() error { return errors.Join(p...) }
