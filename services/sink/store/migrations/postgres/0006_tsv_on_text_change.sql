-- The search vector is computed again only when what it is made of changes
-- (title, body, language). The sink's update names every column, so an
-- "UPDATE OF" trigger alone fired on every write, a story relink or a
-- replay that changed only links, topics or stamps included: four
-- to_tsvector calls over the whole text each time. (An INSERT trigger may
-- not look at OLD, hence two triggers.)
DROP TRIGGER articles_tsv ON articles;

CREATE TRIGGER articles_tsv_insert BEFORE INSERT ON articles
    FOR EACH ROW EXECUTE FUNCTION articles_tsv();

CREATE TRIGGER articles_tsv_update BEFORE UPDATE OF title, body, language ON articles
    FOR EACH ROW
    WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.body IS DISTINCT FROM NEW.body
          OR OLD.language IS DISTINCT FROM NEW.language)
    EXECUTE FUNCTION articles_tsv();
