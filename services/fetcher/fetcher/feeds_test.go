package fetcher

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadFeedsFile(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string
		wantErr []string
	}{
		{
			name: "comments and blanks",
			content: "# local news\n\nhttps://gazette.example/rss.xml\n" +
				"   https://blog.example/atom.xml   # the tide blog\n" +
				"\t# indented comment\n" +
				"https://gazette.example/rss.xml\n" + // repeated
				"https://weird.example/feed#section\n",
			want: []string{"https://gazette.example/rss.xml", "https://blog.example/atom.xml", "https://weird.example/feed#section"},
		},
		{name: "empty", content: "\n# nothing\n", want: nil},
		{name: "crlf", content: "https://a.example/feed\r\nhttps://b.example/feed\r\n", want: []string{"https://a.example/feed", "https://b.example/feed"}},
		{
			name:    "every bad line is reported",
			content: "https://ok.example/feed\nftp://files.example/feed\nnot a url\n",
			wantErr: []string{"feeds.txt:2:", "feeds.txt:3:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "feeds.txt")
			require.NoError(t, os.WriteFile(path, []byte(tt.content), 0o644))
			got, err := ReadFeedsFile(path)
			if tt.wantErr != nil {
				for _, want := range tt.wantErr {
					require.ErrorContains(t, err, want)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
	_, err := ReadFeedsFile(filepath.Join(t.TempDir(), "missing.txt"))
	require.ErrorIs(t, err, os.ErrNotExist)
}
