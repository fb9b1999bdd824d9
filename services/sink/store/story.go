package store

import (
	"context"
	"fmt"
)

// StoryView is a story with its articles, oldest first. A syndicated copy
// (Story.DuplicateOf set to an article of the same story) is folded into the
// article it copies instead of being listed on its own.
type StoryView struct {
	ID       string         `json:"id"`
	Articles []StoryArticle `json:"articles"`
}

// StoryArticle is an article of a story and the copies folded into it.
type StoryArticle struct {
	Article
	Duplicates []Article `json:"duplicates"`
}

// MaxStoryArticles bounds the articles Story reads.
const MaxStoryArticles = 1000

// Story returns the story with id, or an error matching ErrNotFound.
func (s *Store) Story(ctx context.Context, id string) (*StoryView, error) {
	rows, err := s.r.QueryContext(ctx, s.bind(`SELECT `+articleColumns+` FROM articles a
		WHERE a.id IN (SELECT article_id FROM article_stories WHERE story_id = ?)
		ORDER BY a.sort_at, a.id LIMIT ?`), id, MaxStoryArticles)
	if err != nil {
		return nil, classify("get story "+id, err)
	}
	got, err := s.collect(ctx, rows, nil)
	if err != nil {
		return nil, fmt.Errorf("get story %s: %w", id, err)
	}
	if len(got) == 0 {
		return nil, fmt.Errorf("get story %s: %w", id, ErrNotFound)
	}
	v := &StoryView{ID: id, Articles: []StoryArticle{}}
	pos := map[string]int{} // article id → index in v.Articles
	var copies []Article
	for _, r := range got {
		if r.Story != nil && r.Story.DuplicateOf != "" && r.Story.DuplicateOf != r.ID {
			copies = append(copies, r.Article)
			continue
		}
		pos[r.ID] = len(v.Articles)
		v.Articles = append(v.Articles, StoryArticle{Article: r.Article, Duplicates: []Article{}})
	}
	copyOf := make(map[string]string, len(copies)) // copy id → what it copies
	for _, c := range copies {
		copyOf[c.ID] = c.Story.DuplicateOf
	}
	for _, c := range copies {
		// A copy of a copy folds into the original (the chain is followed at
		// most len(copies) steps, so a cycle cannot loop); a copy whose
		// original is not in the story stands alone.
		orig := copyOf[c.ID]
		for range copies {
			next, isCopy := copyOf[orig]
			if !isCopy {
				break
			}
			orig = next
		}
		if i, ok := pos[orig]; ok {
			v.Articles[i].Duplicates = append(v.Articles[i].Duplicates, c)
			continue
		}
		pos[c.ID] = len(v.Articles)
		v.Articles = append(v.Articles, StoryArticle{Article: c, Duplicates: []Article{}})
	}
	return v, nil
}
