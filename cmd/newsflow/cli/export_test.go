package cli

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/services/sink/store"
	"github.com/newsflow/newsflow/services/sink/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// exportArticles are three articles as the tagger leaves them: entities,
// a story, and a syndicated copy and a derived article linked to the first.
func exportArticles() []*store.Article {
	base := time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)
	var out []*store.Article
	for i, src := range []string{"gazette.example", "wire.example", "herald.example"} {
		p := base.Add(time.Duration(i) * 24 * time.Hour)
		out = append(out, &store.Article{
			ID: fmt.Sprintf("art-%d", i), URL: "https://" + src + "/a", CanonicalURL: "https://" + src + "/a",
			Source: src, ContentHash: fmt.Sprintf("h%d", i), Title: "Ferry strike", Language: "en",
			Text: "The ferry crews walked out.", Published: &p, FetchedAt: p.Add(time.Minute),
			Topics:   []store.Topic{{Code: "medtop:09000000", Label: "labour", Score: 0.7, Level: 1}},
			Keywords: []string{"ferry"},
			Entities: []store.Entity{{Name: "Harbour Ferries", Type: "organisation", Mentions: 2, Aliases: []string{"the operator"}}},
			Story:    &store.Story{ID: "story-ferry"},
		})
	}
	out[1].Story.DuplicateOf, out[1].Story.Overlap = "art-0", 0.98
	out[2].Story.DerivedFrom, out[2].Story.Overlap = "art-0", 0.4
	out[2].Entities = append(out[2].Entities, store.Entity{Name: "Mara Lenz", Type: "person", Mentions: 1, Aliases: []string{"Lenz"}})
	return out
}

func decodeLines(t *testing.T, out string) []store.Article {
	t.Helper()
	var arts []store.Article
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var a store.Article
		require.NoError(t, json.Unmarshal(sc.Bytes(), &a), sc.Text())
		arts = append(arts, a)
	}
	return arts
}

func TestExportFiltersAndLinks(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			dsn := "sqlite:" + filepath.Join(t.TempDir(), "news.db")
			if engine == "postgres" {
				dsn = pgtest.Database(t)
			}
			st, err := store.OpenDSN(ctx, dsn)
			require.NoError(t, err)
			_, err = st.UpsertBatch(ctx, exportArticles())
			require.NoError(t, err)
			require.NoError(t, st.Close())

			all := decodeLines(t, runCLI(t, "export", "-store", dsn))
			require.Len(t, all, 3)
			for i, want := range exportArticles() {
				require.Equal(t, want.ID, all[i].ID)
				require.Equal(t, want.Entities, all[i].Entities)
				require.Equal(t, want.Story, all[i].Story)
			}
			for _, tt := range []struct {
				args []string
				want []string
			}{
				{[]string{"-entity", "mara lenz"}, []string{"art-2"}},
				{[]string{"-source", "wire.example"}, []string{"art-1"}},
				{[]string{"-topic", "labour", "-since", "2026-03-11"}, []string{"art-1", "art-2"}},
				{[]string{"-until", "2026-03-10"}, []string{"art-0"}},
				{[]string{"-language", "de"}, nil},
			} {
				got := decodeLines(t, runCLI(t, append([]string{"export", "-store", dsn}, tt.args...)...))
				var ids []string
				for _, a := range got {
					ids = append(ids, a.ID)
				}
				require.Equal(t, tt.want, ids, "%v", tt.args)
			}
		})
	}
}

func TestExportBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-since", "yesterday"},
		{"-until", "2026-13-01"},
		{"-store", "mysql://x"},
	} {
		var stdout, stderr bytes.Buffer
		code := Main(append([]string{"export"}, args...), strings.NewReader(""), &stdout, &stderr)
		require.Equal(t, 2, code, "%v: %s", args, stderr.String())
		require.Contains(t, stderr.String(), args[0], args)
	}
}

// TestExportRefusesAForeignDatabase: export opens the store read-only and
// refuses a database newsflow never wrote. Before, export -store
// sqlite:OTHER.db created 13 tables in another application's database.
func TestExportRefusesAForeignDatabase(t *testing.T) {
	other := filepath.Join(t.TempDir(), "other.db")
	db, err := sql.Open("sqlite", other)
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	info, err := os.Stat(other)
	require.NoError(t, err)

	var stdout, stderr bytes.Buffer
	code := Main([]string{"export", "-store", "sqlite:" + other}, strings.NewReader(""), &stdout, &stderr)
	require.Equal(t, 1, code)
	require.Contains(t, stderr.String(), "not a newsflow database")
	db, err = sql.Open("sqlite", other)
	require.NoError(t, err)
	defer db.Close()
	var tables int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'`).Scan(&tables))
	require.Equal(t, 1, tables, "nothing created in it")
	after, err := os.Stat(other)
	require.NoError(t, err)
	require.Equal(t, info.ModTime(), after.ModTime())

	missing := filepath.Join(t.TempDir(), "missing.db")
	require.Equal(t, 1, Main([]string{"export", "-store", "sqlite:" + missing}, strings.NewReader(""), &stdout, &stderr))
	_, err = os.Stat(missing)
	require.ErrorIs(t, err, os.ErrNotExist, "no file created")
}
