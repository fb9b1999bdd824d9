-- The story summaries kept incrementally. A link added counts one more and
-- widens the story's time span; a link removed counts one less, and the
-- span is computed again only when the article removed held one of its
-- edges (or is gone already, as under retention). Before, every link added
-- or removed recomputed its story from all its links, a cost in proportion
-- to the story's size: writing 20,000 articles into 10 stories ran at 171
-- rows/s, 91 in its last tenth (BenchmarkWriteBigStories); the soak run's
-- farm, whose stories reach 1,600 articles, stored a third as fast.
DROP TRIGGER story_summaries_link;
DROP TRIGGER story_summaries_unlink;

CREATE TRIGGER story_summaries_link AFTER INSERT ON article_stories BEGIN
    INSERT INTO story_summaries (story_id, article_count, first_at, last_at)
    SELECT new.story_id, 1, a.sort_at, a.sort_at FROM articles a WHERE a.id = new.article_id
    ON CONFLICT (story_id) DO UPDATE SET
        article_count = article_count + 1,
        first_at = MIN(first_at, excluded.first_at),
        last_at = MAX(last_at, excluded.last_at);
END;

CREATE TRIGGER story_summaries_unlink AFTER DELETE ON article_stories BEGIN
    UPDATE story_summaries SET article_count = article_count - 1 WHERE story_id = old.story_id;
    DELETE FROM story_summaries WHERE story_id = old.story_id AND article_count <= 0;
    UPDATE story_summaries SET
        first_at = (SELECT MIN(a.sort_at) FROM article_stories st JOIN articles a ON a.id = st.article_id
                    WHERE st.story_id = old.story_id),
        last_at = (SELECT MAX(a.sort_at) FROM article_stories st JOIN articles a ON a.id = st.article_id
                   WHERE st.story_id = old.story_id)
    WHERE story_id = old.story_id
      AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.id = old.article_id
                      AND a.sort_at > story_summaries.first_at AND a.sort_at < story_summaries.last_at);
END;
