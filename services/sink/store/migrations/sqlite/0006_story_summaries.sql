-- A summary row per story (its article count and its first and last article
-- time), kept in step by triggers so that no write path (upserts, retention,
-- cascaded deletes) can forget it. The unfiltered stories listing reads it
-- in index order instead of grouping every story link on each request.
CREATE TABLE story_summaries (
    story_id      TEXT    NOT NULL PRIMARY KEY,
    article_count INTEGER NOT NULL,
    first_at      BIGINT  NOT NULL,
    last_at       BIGINT  NOT NULL
);

CREATE INDEX story_summaries_recent ON story_summaries (last_at, story_id);

INSERT INTO story_summaries (story_id, article_count, first_at, last_at)
SELECT st.story_id, COUNT(*), MIN(a.sort_at), MAX(a.sort_at)
FROM article_stories st JOIN articles a ON a.id = st.article_id
GROUP BY st.story_id;

CREATE TRIGGER story_summaries_link AFTER INSERT ON article_stories BEGIN
    DELETE FROM story_summaries WHERE story_id = new.story_id;
    INSERT INTO story_summaries (story_id, article_count, first_at, last_at)
    SELECT st.story_id, COUNT(*), MIN(a.sort_at), MAX(a.sort_at)
    FROM article_stories st JOIN articles a ON a.id = st.article_id
    WHERE st.story_id = new.story_id GROUP BY st.story_id;
END;

CREATE TRIGGER story_summaries_unlink AFTER DELETE ON article_stories BEGIN
    DELETE FROM story_summaries WHERE story_id = old.story_id;
    INSERT INTO story_summaries (story_id, article_count, first_at, last_at)
    SELECT st.story_id, COUNT(*), MIN(a.sort_at), MAX(a.sort_at)
    FROM article_stories st JOIN articles a ON a.id = st.article_id
    WHERE st.story_id = old.story_id GROUP BY st.story_id;
END;

CREATE TRIGGER story_summaries_retime AFTER UPDATE OF sort_at ON articles WHEN old.sort_at <> new.sort_at BEGIN
    DELETE FROM story_summaries WHERE story_id IN (SELECT story_id FROM article_stories WHERE article_id = new.id);
    INSERT INTO story_summaries (story_id, article_count, first_at, last_at)
    SELECT st.story_id, COUNT(*), MIN(a.sort_at), MAX(a.sort_at)
    FROM article_stories st JOIN articles a ON a.id = st.article_id
    WHERE st.story_id IN (SELECT story_id FROM article_stories WHERE article_id = new.id) GROUP BY st.story_id;
END;
