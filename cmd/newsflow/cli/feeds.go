package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/newsflow/newsflow/services/fetcher/registry"
	"github.com/newsflow/newsflow/stage"
)

const feedsUsage = `Usage:
  newsflow feeds add URL…      register feeds (polled from the next scheduling tick on)
  newsflow feeds remove URL…   unregister feeds
  newsflow feeds list          one line a feed: health, next poll, URL
  newsflow feeds stats [URL…]  each feed's polling state and errors by class

Flags (after the verb):
`

// feedsCmd manages the feed registry: the running all-in-one's (found
// through DATA/nats.url), any NATS server's with -nats, or, when nothing
// runs, the registry stored under -data.
func feedsCmd(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, feedsUsage)
		return usageError{errors.New("name a verb: add, remove, list or stats")}
	}
	verb, args := args[0], args[1:]
	fs := flag.NewFlagSet("feeds "+verb, flag.ContinueOnError)
	var t target
	t.registerNATS(fs)
	bucket := fs.String("feeds-bucket", registry.DefaultBucket, "JetStream key-value `bucket` of the feed registry")
	fs.Usage = func() { fmt.Fprint(stderr, feedsUsage); fs.PrintDefaults() }
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	urls := fs.Args()
	switch verb {
	case "add", "remove":
		if len(urls) == 0 {
			return usageError{fmt.Errorf("feeds %s: name at least one feed URL", verb)}
		}
		for _, u := range urls {
			if _, err := registry.Key(u); err != nil {
				return usageError{fmt.Errorf("feeds %s: %w", verb, err)}
			}
		}
	case "list", "stats":
	default:
		fmt.Fprint(stderr, feedsUsage)
		return usageError{fmt.Errorf("unknown verb %q", verb)}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reg, closeReg, err := t.openRegistry(ctx, *bucket)
	if err != nil {
		return err
	}
	defer closeReg()

	switch verb {
	case "add":
		for _, u := range urls {
			added, err := reg.Add(ctx, u, time.Now())
			if err != nil {
				return err
			}
			if added {
				fmt.Fprintf(stdout, "added    %s\n", stage.RedactURLs(u))
			} else {
				fmt.Fprintf(stdout, "present  %s\n", stage.RedactURLs(u))
			}
		}
	case "remove":
		var errs []error
		for _, u := range urls {
			if err := reg.Remove(ctx, u); err != nil {
				errs = append(errs, err)
				continue
			}
			fmt.Fprintf(stdout, "removed  %s\n", stage.RedactURLs(u))
		}
		return errors.Join(errs...)
	case "list":
		entries, err := reg.List(ctx)
		if err != nil {
			return err
		}
		printFeedList(stdout, entries, time.Now())
	case "stats":
		entries, err := reg.List(ctx)
		if err != nil {
			return err
		}
		if len(urls) > 0 {
			entries, err = selectFeeds(entries, urls)
			if err != nil {
				return err
			}
		}
		printFeedStats(stdout, entries, time.Now())
	}
	return nil
}

// openRegistry opens the target's feed registry.
func (t *target) openRegistry(ctx context.Context, bucket string) (*registry.Registry, func(), error) {
	b, err := t.connect("feeds")
	if err != nil {
		return nil, nil, err
	}
	reg, err := registry.Open(ctx, b.js, bucket, 0)
	if err != nil {
		b.Close()
		return nil, nil, err
	}
	return reg, b.Close, nil
}

func selectFeeds(entries []registry.Entry, urls []string) ([]registry.Entry, error) {
	byKey := map[string]registry.Entry{}
	for _, e := range entries {
		byKey[e.Key] = e
	}
	var out []registry.Entry
	for _, u := range urls {
		key, err := registry.Key(u)
		if err != nil {
			return nil, usageError{err}
		}
		e, ok := byKey[key]
		if !ok {
			return nil, fmt.Errorf("feed %s: %w", stage.RedactURLs(u), registry.ErrNotFound)
		}
		out = append(out, e)
	}
	return out, nil
}

func printFeedList(w io.Writer, entries []registry.Entry, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HEALTH\tNEXT POLL\tURL")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Feed.Health(now), nextPoll(e.Feed.NextPoll, now), stage.RedactURLs(e.Feed.URL))
	}
	tw.Flush()
	fmt.Fprintf(w, "%d feeds\n", len(entries))
}

func printFeedStats(w io.Writer, entries []registry.Entry, now time.Time) {
	health := map[string]int{}
	for _, e := range entries {
		f := e.Feed
		health[f.Health(now)]++
		fmt.Fprintf(w, "%s\n", stage.RedactURLs(f.URL))
		tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
		row := func(k, v string) { fmt.Fprintf(tw, "  %s\t%s\n", k, v) }
		row("health", f.Health(now))
		if f.Discovered != "" {
			row("discovered feed", stage.RedactURLs(f.Discovered))
		}
		row("polls", fmt.Sprintf("%d (%d not modified)", f.Polls, f.NotModified))
		row("new items", fmt.Sprintf("%d, %.1f a day", f.NewItems, f.ItemsPerDay))
		row("interval", f.Interval.String())
		if f.Window > 0 {
			row("window", f.Window.Round(time.Second).String()+" (the time its listed items span)")
		}
		if f.Gaps > 0 {
			row("gaps", fmt.Sprintf("%d polls found every listed item new: items may have been missed", f.Gaps))
		}
		row("last poll", relTime(f.LastPoll, now))
		row("last success", relTime(f.LastSuccess, now))
		row("next poll", nextPoll(f.NextPoll, now))
		if f.ErrorStreak > 0 {
			row("error streak", fmt.Sprintf("%d, failing since %s", f.ErrorStreak, relTime(f.FailingSince, now)))
			row("last error", f.LastErrorClass+": "+stage.RedactURLs(f.LastError))
		}
		if len(f.Errors) > 0 {
			var parts []string
			for _, class := range slices.Sorted(maps.Keys(f.Errors)) {
				parts = append(parts, fmt.Sprintf("%s %d", class, f.Errors[class]))
			}
			row("errors", strings.Join(parts, ", "))
		}
		if f.LeaseOwner != "" && now.Before(f.LeaseUntil) {
			row("being polled by", f.LeaseOwner)
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "%d feeds: %d healthy, %d backing off, %d failing\n",
		len(entries), health[registry.Healthy], health[registry.Backoff], health[registry.Failing])
}

// nextPoll is relTime for a time a feed is due: never set means at once.
func nextPoll(t, now time.Time) string {
	if !t.After(now) {
		return "due"
	}
	return relTime(t, now)
}

// relTime shows t relative to now, to the second: "in 4m10s", "2h0m0s ago".
func relTime(t, now time.Time) string {
	switch {
	case t.IsZero():
		return "never"
	case t.After(now):
		return "in " + t.Sub(now).Round(time.Second).String()
	case now.Sub(t) < time.Second:
		return "now"
	}
	return now.Sub(t).Round(time.Second).String() + " ago"
}
