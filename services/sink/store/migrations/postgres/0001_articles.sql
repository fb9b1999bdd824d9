-- The PostgreSQL schema: the same tables and columns as SQLite's (times are
-- microseconds since the Unix epoch, UTC), with a tsvector column in place
-- of FTS5. Ids use the "C" collation so that their order, which export and
-- keyset pagination rely on, is byte order whatever the cluster's locale.
CREATE TABLE articles (
    seq           BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            TEXT    COLLATE "C" NOT NULL UNIQUE,
    url           TEXT    NOT NULL,
    canonical_url TEXT    NOT NULL,
    feed          TEXT    NOT NULL,
    source        TEXT    NOT NULL,
    content_hash  TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    byline        TEXT    NOT NULL,
    language      TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    published_at  BIGINT,
    fetched_at    BIGINT  NOT NULL,
    stored_at     BIGINT  NOT NULL,
    sort_at       BIGINT  NOT NULL,
    keywords      TEXT    NOT NULL,
    record_hash   TEXT    NOT NULL DEFAULT '',
    tsv           TSVECTOR NOT NULL DEFAULT ''
);

CREATE INDEX articles_sort ON articles (sort_at, id);
CREATE INDEX articles_language_sort ON articles (language, sort_at, id);
CREATE INDEX articles_source_sort ON articles (source, sort_at, id);
CREATE INDEX articles_stored ON articles (stored_at);
CREATE INDEX articles_tsv ON articles USING GIN (tsv);

-- The text search configuration of a language tag: its stemmer when
-- PostgreSQL has one, else 'simple' (lowercased words, no stemming).
CREATE FUNCTION newsflow_ts_config(lang TEXT) RETURNS regconfig
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (CASE split_part(lower(lang), '-', 1)
        WHEN 'ar' THEN 'arabic'   WHEN 'da' THEN 'danish'    WHEN 'de' THEN 'german'
        WHEN 'el' THEN 'greek'    WHEN 'en' THEN 'english'   WHEN 'es' THEN 'spanish'
        WHEN 'fi' THEN 'finnish'  WHEN 'fr' THEN 'french'    WHEN 'hu' THEN 'hungarian'
        WHEN 'id' THEN 'indonesian' WHEN 'it' THEN 'italian' WHEN 'lt' THEN 'lithuanian'
        WHEN 'ne' THEN 'nepali'   WHEN 'nl' THEN 'dutch'     WHEN 'no' THEN 'norwegian'
        WHEN 'nb' THEN 'norwegian' WHEN 'pt' THEN 'portuguese' WHEN 'ro' THEN 'romanian'
        WHEN 'ru' THEN 'russian'  WHEN 'sv' THEN 'swedish'   WHEN 'ta' THEN 'tamil'
        WHEN 'tr' THEN 'turkish'  WHEN 'ga' THEN 'irish'     WHEN 'hy' THEN 'armenian'
        WHEN 'ca' THEN 'catalan'  WHEN 'eu' THEN 'basque'    WHEN 'hi' THEN 'hindi'
        WHEN 'sr' THEN 'serbian'  WHEN 'yi' THEN 'yiddish'
        ELSE 'simple' END)::regconfig
$$;

-- The text as search sees it: accents removed, so that "zurich" finds
-- "Zürich" (as SQLite's remove_diacritics does).
CREATE EXTENSION IF NOT EXISTS unaccent;

-- Each text is indexed twice: stemmed by its language's configuration, and
-- word for word ('simple', which keeps stop words), so that searching any
-- word of the text finds it, as in SQLite, and searching another form of a
-- stemmed word finds it too. Title words weigh more (A) than body words (B)
-- in ts_rank. A trigger, like SQLite's FTS5 triggers, so that no write path
-- can forget the index.
CREATE FUNCTION articles_tsv() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cfg regconfig := newsflow_ts_config(NEW.language);
    title text := unaccent(NEW.title);
    body text := unaccent(NEW.body);
BEGIN
    NEW.tsv := setweight(to_tsvector(cfg, title), 'A') || setweight(to_tsvector('simple', title), 'A') ||
               setweight(to_tsvector(cfg, body), 'B') || setweight(to_tsvector('simple', body), 'B');
    RETURN NEW;
END
$$;

CREATE TRIGGER articles_tsv BEFORE INSERT OR UPDATE OF title, body, language ON articles
    FOR EACH ROW EXECUTE FUNCTION articles_tsv();

CREATE TABLE article_topics (
    article_id TEXT             COLLATE "C" NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    code       TEXT             NOT NULL,
    label      TEXT             NOT NULL,
    label_key  TEXT             NOT NULL,
    score      DOUBLE PRECISION NOT NULL,
    level      INTEGER          NOT NULL,
    PRIMARY KEY (article_id, code)
);

CREATE INDEX article_topics_code ON article_topics (code, article_id);
CREATE INDEX article_topics_label ON article_topics (label_key, article_id);

CREATE TABLE article_versions (
    article_id   TEXT   COLLATE "C" NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    content_hash TEXT   NOT NULL,
    title        TEXT   NOT NULL,
    body         TEXT   NOT NULL,
    fetched_at   BIGINT NOT NULL,
    stored_at    BIGINT NOT NULL,
    PRIMARY KEY (article_id, content_hash)
);

CREATE TABLE article_entities (
    article_id TEXT    COLLATE "C" NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    name_key   TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    subtype    TEXT    NOT NULL,
    mentions   INTEGER NOT NULL,
    aliases    TEXT    NOT NULL,
    PRIMARY KEY (article_id, name_key, type)
);

CREATE INDEX article_entities_name ON article_entities (name_key, article_id);

CREATE TABLE article_stories (
    article_id   TEXT             COLLATE "C" NOT NULL PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    story_id     TEXT             NOT NULL,
    duplicate_of TEXT             NOT NULL,
    derived_from TEXT             NOT NULL,
    overlap      DOUBLE PRECISION NOT NULL
);

CREATE INDEX article_stories_story ON article_stories (story_id, article_id);

-- OR of tsqueries, for searching text in every language's configuration.
CREATE AGGREGATE newsflow_tsquery_or(tsquery) (SFUNC = tsquery_or, STYPE = tsquery);
