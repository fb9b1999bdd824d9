-- The search index is rewritten only when an article's text changes. An
-- UPDATE that names title and body fires an "UPDATE OF title, body" trigger
-- even when it writes the same values, and the sink's update names every
-- column: a story relink or a replay that changed only links, topics or
-- stamps deleted and re-inserted every word of the article in the index
-- (the largest part of such a write).
DROP TRIGGER articles_fts_update;

CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, body ON articles
WHEN old.title IS NOT new.title OR old.body IS NOT new.body BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, body) VALUES ('delete', old.seq, old.title, old.body);
    INSERT INTO articles_fts (rowid, title, body) VALUES (new.seq, new.title, new.body);
END;
