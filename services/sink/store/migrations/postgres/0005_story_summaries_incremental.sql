-- The story summaries kept incrementally, as on SQLite (its 0008). A write
-- batch passes, for each story it touched, the links it added and removed:
-- the count changes by their difference, the span widens to the times
-- added, and it is computed again from the story's links only when a link
-- removed held one of its edges. Before, story_summaries_refresh counted
-- every touched story from all its links once a batch, a cost in proportion
-- to the stories' size (BenchmarkWriteBigStories: 1,123 rows/s, 788 in the
-- last tenth). The batch's removals carry the article's old time, so it
-- handles a time changed by an upsert itself: the trigger that catches a
-- time changed in place (by hand) stands aside while a write batch runs
-- (the batch sets newsflow.summaries_by_batch for its transaction), since
-- its recount would take in links of the batch that the batch's call
-- counts again. Retention still refreshes the stories it took articles
-- from (story_summaries_refresh).
CREATE OR REPLACE FUNCTION story_summaries_on_retime() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('newsflow.summaries_by_batch', true) = 'on' THEN
        RETURN NULL;
    END IF;
    PERFORM story_summaries_refresh(ARRAY(SELECT story_id FROM article_stories WHERE article_id = NEW.id));
    RETURN NULL;
END $$;

-- ids: the stories, sorted and unique; deltas: links added less links
-- removed; firsts and lasts: the earliest and latest time added (the
-- largest and smallest bigint when none); gone_firsts and gone_lasts: the
-- earliest and latest time removed (likewise). Rows are locked in story
-- order, so two replicas writing one story take turns and batches do not
-- deadlock.
CREATE FUNCTION story_summaries_apply(ids TEXT[], deltas INTEGER[], firsts BIGINT[], lasts BIGINT[],
                                      gone_firsts BIGINT[], gone_lasts BIGINT[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO story_summaries (story_id, article_count, first_at, last_at)
    SELECT id, 0, 9223372036854775807, -9223372036854775808 FROM unnest(ids) AS id ORDER BY id
    ON CONFLICT (story_id) DO NOTHING;
    PERFORM 1 FROM story_summaries WHERE story_id = ANY (ids) ORDER BY story_id FOR UPDATE;
    UPDATE story_summaries s SET article_count = s.article_count + d.delta,
        first_at = LEAST(s.first_at, d.first_at), last_at = GREATEST(s.last_at, d.last_at)
    FROM unnest(ids, deltas, firsts, lasts) AS d(story_id, delta, first_at, last_at)
    WHERE s.story_id = d.story_id;
    DELETE FROM story_summaries WHERE story_id = ANY (ids) AND article_count <= 0;
    UPDATE story_summaries s SET first_at = c.first_at, last_at = c.last_at
    FROM (SELECT st.story_id, MIN(a.sort_at) AS first_at, MAX(a.sort_at) AS last_at
          FROM article_stories st JOIN articles a ON a.id = st.article_id
          WHERE st.story_id IN (
              SELECT g.story_id FROM unnest(ids, gone_firsts, gone_lasts) AS g(story_id, gone_first, gone_last)
              JOIN story_summaries e ON e.story_id = g.story_id
              WHERE g.gone_first <= e.first_at OR g.gone_last >= e.last_at)
          GROUP BY st.story_id) c
    WHERE s.story_id = c.story_id;
END $$;
