-- Portable core schema: standard SQL types and constraints only, so the
-- PostgreSQL store can start from the same file (seq becomes an identity
-- column there). Times are microseconds since the Unix epoch, UTC.
CREATE TABLE articles (
    seq           INTEGER PRIMARY KEY,
    id            TEXT    NOT NULL UNIQUE,
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
    -- published_at, or fetched_at when the publication time is unknown:
    -- the one key that listing orders and filters by.
    sort_at       BIGINT  NOT NULL,
    keywords      TEXT    NOT NULL
);

CREATE INDEX articles_sort ON articles (sort_at, id);
CREATE INDEX articles_language_sort ON articles (language, sort_at, id);

CREATE TABLE article_topics (
    article_id TEXT             NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    code       TEXT             NOT NULL,
    label      TEXT             NOT NULL,
    label_key  TEXT             NOT NULL,
    score      DOUBLE PRECISION NOT NULL,
    level      INTEGER          NOT NULL,
    PRIMARY KEY (article_id, code)
);

CREATE INDEX article_topics_code ON article_topics (code, article_id);
CREATE INDEX article_topics_label ON article_topics (label_key, article_id);
