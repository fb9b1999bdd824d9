package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// StoryQuery selects a page of stories for Stories. Zero fields do not
// filter. Topic, Entity, Source, Since and Until select articles, as in
// Query; a story is listed when at least one of its articles is selected,
// and its summary then describes all of its articles.
type StoryQuery struct {
	Topic, Entity, Source string
	Since, Until          time.Time
	// MinArticles lists only stories with at least this many articles.
	MinArticles int
	// Limit defaults to DefaultLimit and is capped at MaxLimit.
	Limit int
	// Cursor is a StoryPage.NextCursor from the same query.
	Cursor string
}

// StorySummary describes a story in a listing.
type StorySummary struct {
	ID       string `json:"id"`
	Articles int    `json:"article_count"`
	// Sources are the host names of the story's articles, sorted.
	Sources []string `json:"sources"`
	// FirstPublished and LastPublished are the oldest and the newest
	// publication time of its articles (the fetch time where unknown).
	FirstPublished time.Time `json:"first_published"`
	LastPublished  time.Time `json:"last_published"`
	// Headline is the title of the story's first article, HeadlineID its id.
	Headline   string `json:"headline"`
	HeadlineID string `json:"headline_id"`
	// TopEntities are the entities named in most of its articles, at most
	// MaxStoryEntities.
	TopEntities []StoryEntity `json:"top_entities"`
}

// StoryEntity is an entity of a story and how many of its articles name it.
type StoryEntity struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Articles int    `json:"article_count"`
}

// StoryPage is one page of Stories results.
type StoryPage struct {
	Stories []StorySummary
	// NextCursor is empty on the last page.
	NextCursor string
}

// MaxStoryEntities bounds StorySummary.TopEntities.
const MaxStoryEntities = 5

// Stories returns the page of stories q selects, the most recently updated
// first (by their newest article's time, then id), keyset-paginated.
func (s *Store) Stories(ctx context.Context, q StoryQuery) (StoryPage, error) {
	p, err := s.storiesQuery(ctx, q)
	if err != nil {
		return StoryPage{}, err
	}
	rows, err := s.r.QueryContext(ctx, p.sql, p.args...)
	if err != nil {
		return StoryPage{}, classify("list stories", err)
	}
	var out []StorySummary
	var lastAt []int64
	err = scanRows(rows, func() error {
		var st StorySummary
		var first, last int64
		if err := rows.Scan(&st.ID, &st.Articles, &first, &last); err != nil {
			return err
		}
		st.FirstPublished, st.LastPublished = fromMicros(first), fromMicros(last)
		st.Sources, st.TopEntities = []string{}, []StoryEntity{}
		out = append(out, st)
		lastAt = append(lastAt, last)
		return nil
	})
	if err != nil {
		return StoryPage{}, classify("list stories", err)
	}
	var page StoryPage
	if len(out) > p.limit {
		out = out[:p.limit]
		page.NextCursor = cursor{Mode: modeStory, At: lastAt[p.limit-1], ID: out[p.limit-1].ID}.encode()
	}
	if err := s.storyDetails(ctx, out); err != nil {
		return StoryPage{}, err
	}
	page.Stories = out
	return page, nil
}

// storiesQuery builds the statement Stories runs for q.
func (s *Store) storiesQuery(ctx context.Context, q StoryQuery) (listPlan, error) {
	limit := pageSize(q.Limit)
	var after *cursor
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor, modeStory)
		if err != nil {
			return listPlan{}, fmt.Errorf("list stories: %w", err)
		}
		after = &c
	}
	var b strings.Builder
	var args []any
	where, fargs, err := s.filters(ctx, Query{Topic: q.Topic, Entity: q.Entity, Source: q.Source, Since: q.Since, Until: q.Until}, false, 0)
	if err != nil {
		return listPlan{}, err
	}
	if len(where) == 0 {
		// Every story: read the summaries the triggers keep, in index
		// order, instead of grouping every story link.
		b.WriteString(`SELECT story_id, article_count, first_at, last_at FROM story_summaries WHERE article_count >= ?`)
		args = append(args, max(q.MinArticles, 1))
		if after != nil {
			b.WriteString(` AND (last_at < ? OR (last_at = ? AND story_id < ?))`)
			args = append(args, after.At, after.At, after.ID)
		}
		b.WriteString(` ORDER BY last_at DESC, story_id DESC LIMIT ?`)
		args = append(args, limit+1)
		return listPlan{sql: s.bind(b.String()), args: args, mode: modeStory, limit: limit}, nil
	}
	b.WriteString(`SELECT st.story_id, COUNT(*), MIN(o.sort_at), MAX(o.sort_at)
		FROM article_stories st JOIN articles o ON o.id = st.article_id`)
	b.WriteString(` WHERE st.story_id IN (SELECT m.story_id FROM article_stories m
		JOIN articles a ON a.id = m.article_id WHERE ` + strings.Join(where, " AND ") + `)`)
	args = append(args, fargs...)
	b.WriteString(` GROUP BY st.story_id HAVING COUNT(*) >= ?`)
	args = append(args, max(q.MinArticles, 1))
	if after != nil {
		b.WriteString(` AND (MAX(o.sort_at) < ? OR (MAX(o.sort_at) = ? AND st.story_id < ?))`)
		args = append(args, after.At, after.At, after.ID)
	}
	b.WriteString(` ORDER BY MAX(o.sort_at) DESC, st.story_id DESC LIMIT ?`)
	args = append(args, limit+1)
	return listPlan{sql: s.bind(b.String()), args: args, mode: modeStory, limit: limit}, nil
}

// storyDetails fills in the sources, headline and top entities of stories.
func (s *Store) storyDetails(ctx context.Context, stories []StorySummary) error {
	if len(stories) == 0 {
		return nil
	}
	index := make(map[string]*StorySummary, len(stories))
	args := make([]any, len(stories))
	for i := range stories {
		index[stories[i].ID] = &stories[i]
		args[i] = stories[i].ID
	}
	in := `(?` + strings.Repeat(", ?", len(stories)-1) + `)`
	seen := map[string]bool{} // story id + "\x00" + source
	if err := s.readDetails(ctx, "story articles", `SELECT st.story_id, a.id, a.title, a.source
		FROM article_stories st JOIN articles a ON a.id = st.article_id
		WHERE st.story_id IN `+in+` ORDER BY st.story_id, a.sort_at, a.id`, args, func(rows *sql.Rows) error {
		var id, article, title, source string
		if err := rows.Scan(&id, &article, &title, &source); err != nil {
			return err
		}
		st := index[id]
		if st == nil {
			return nil
		}
		if st.HeadlineID == "" {
			st.Headline, st.HeadlineID = title, article
		}
		if k := id + "\x00" + source; !seen[k] {
			seen[k] = true
			st.Sources = append(st.Sources, source)
		}
		return nil
	}); err != nil {
		return err
	}
	for i := range stories {
		slices.Sort(stories[i].Sources)
	}
	return s.readDetails(ctx, "story entities", `SELECT st.story_id, MIN(e.name), e.type, COUNT(DISTINCT e.article_id)
		FROM article_stories st JOIN article_entities e ON e.article_id = st.article_id
		WHERE st.story_id IN `+in+`
		GROUP BY st.story_id, e.name_key, e.type
		ORDER BY st.story_id, COUNT(DISTINCT e.article_id) DESC, SUM(e.mentions) DESC, e.name_key, e.type`, args, func(rows *sql.Rows) error {
		var id string
		var e StoryEntity
		if err := rows.Scan(&id, &e.Name, &e.Type, &e.Articles); err != nil {
			return err
		}
		if st := index[id]; st != nil && len(st.TopEntities) < MaxStoryEntities {
			st.TopEntities = append(st.TopEntities, e)
		}
		return nil
	})
}

// scanRows calls scan for each of rows and closes them.
func scanRows(rows *sql.Rows, scan func() error) error {
	defer rows.Close()
	for rows.Next() {
		if err := scan(); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return rows.Close()
}
