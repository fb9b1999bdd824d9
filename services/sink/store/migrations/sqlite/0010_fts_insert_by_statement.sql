-- A new article's text goes into the full-text index by a statement of the
-- sink's write batch (store/upsert.go), not by this trigger: FTS5 writes what
-- it holds to disk as a segment of its own at every savepoint, and a trigger
-- runs inside a statement that opens one, so each article cost a segment and
-- later merges. The delete trigger (retention, by hand) and the update
-- trigger (text changed, rare) stay.
DROP TRIGGER articles_fts_insert;
