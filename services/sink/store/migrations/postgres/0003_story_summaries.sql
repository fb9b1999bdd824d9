-- A summary row per story (its article count and its first and last article
-- time). The unfiltered stories listing reads it in index order instead of
-- grouping every story link on each request. The store refreshes the
-- stories a write batch or a retention batch touched, once a batch (a
-- trigger a row cost three quarters of the write rate here); a trigger
-- catches a time changed in place.
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

-- Recomputes the summaries of the given stories from their links. Two
-- replicas may write articles of one story at once: each first takes the
-- story's summary row (creating it if missing), so the second waits for the
-- first to commit and then counts with its links in view (each statement
-- reads what is committed when it starts). A deadlock between two batches
-- is retried by the sink like any transient error.
CREATE FUNCTION story_summaries_refresh(ids TEXT[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO story_summaries (story_id, article_count, first_at, last_at)
    SELECT id, 0, 0, 0 FROM unnest(ids) AS id ORDER BY id
    ON CONFLICT (story_id) DO NOTHING;
    PERFORM 1 FROM story_summaries WHERE story_id = ANY (ids) ORDER BY story_id FOR UPDATE;
    UPDATE story_summaries s SET article_count = c.n, first_at = c.first_at, last_at = c.last_at
    FROM (SELECT st.story_id, COUNT(*) AS n, MIN(a.sort_at) AS first_at, MAX(a.sort_at) AS last_at
          FROM article_stories st JOIN articles a ON a.id = st.article_id
          WHERE st.story_id = ANY (ids) GROUP BY st.story_id) c
    WHERE s.story_id = c.story_id;
    DELETE FROM story_summaries s WHERE s.story_id = ANY (ids)
        AND NOT EXISTS (SELECT 1 FROM article_stories st WHERE st.story_id = s.story_id);
END $$;

CREATE FUNCTION story_summaries_on_retime() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM story_summaries_refresh(ARRAY(SELECT story_id FROM article_stories WHERE article_id = NEW.id));
    RETURN NULL;
END $$;

CREATE TRIGGER story_summaries_retime AFTER UPDATE OF sort_at ON articles
    FOR EACH ROW WHEN (OLD.sort_at IS DISTINCT FROM NEW.sort_at) EXECUTE FUNCTION story_summaries_on_retime();
