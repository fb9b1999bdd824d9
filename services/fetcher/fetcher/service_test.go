package fetcher

import (
	"flag"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		flags []string // flags named in the error; none means valid
	}{
		{name: "feeds", args: []string{"-feeds", "https://a.example/feed.xml, https://b.example/atom.xml"}},
		{name: "ingest", args: []string{"-ingest", "."}},
		{name: "registered feeds only"},
		{name: "bad feed URL", args: []string{"-feeds", "ftp://a.example/feed"}, flags: []string{"-feeds"}},
		{name: "missing feeds file", args: []string{"-feeds-file", "/nonexistent/feeds.txt"}, flags: []string{"-feeds-file"}},
		{
			name:  "every problem at once",
			args:  []string{"-ingest", "/nonexistent", "-interval", "10ms", "-concurrency", "0", "-max-bytes", "10", "-seen-bucket", ""},
			flags: []string{"-ingest", "-interval", "-concurrency", "-max-bytes", "-seen-bucket"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultConfig()
			fs := flag.NewFlagSet("fetcher", flag.ContinueOnError)
			o.RegisterFlags(fs)
			require.NoError(t, fs.Parse(tc.args))
			err := o.Validate()
			if len(tc.flags) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, f := range tc.flags {
				require.Contains(t, err.Error(), f+":")
			}
			require.Len(t, strings.Split(err.Error(), "\n"), len(tc.flags), err.Error())
		})
	}
}

func TestFeedsFlagSplitsAndTrims(t *testing.T) {
	o := DefaultConfig()
	fs := flag.NewFlagSet("fetcher", flag.ContinueOnError)
	o.RegisterFlags(fs)
	require.NoError(t, fs.Parse([]string{"-feeds", " https://a.example/f ,,https://b.example/g"}))
	require.Equal(t, []string{"https://a.example/f", "https://b.example/g"}, o.Feeds)
}
