-- Versions of each article (one row per content hash, so a changed page
-- keeps its history), the named entities the tagger found, and the story
-- each article belongs to with its duplicate / derived-from links.
CREATE TABLE article_versions (
    article_id   TEXT   NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    content_hash TEXT   NOT NULL,
    title        TEXT   NOT NULL,
    body         TEXT   NOT NULL,
    fetched_at   BIGINT NOT NULL,
    stored_at    BIGINT NOT NULL,
    PRIMARY KEY (article_id, content_hash)
);

CREATE TABLE article_entities (
    article_id TEXT    NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
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
    article_id   TEXT             NOT NULL PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    story_id     TEXT             NOT NULL,
    duplicate_of TEXT             NOT NULL,
    derived_from TEXT             NOT NULL,
    overlap      DOUBLE PRECISION NOT NULL
);

CREATE INDEX article_stories_story ON article_stories (story_id, article_id);

CREATE INDEX articles_source_sort ON articles (source, sort_at, id);
CREATE INDEX articles_stored ON articles (stored_at);
