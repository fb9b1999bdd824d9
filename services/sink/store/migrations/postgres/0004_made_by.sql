-- What made each stored article: the version stamps of the normalizer and
-- the tagger that produced it ('' for articles stored before stamps were
-- kept), and when each stamp was first stored, which orders the stamps of a
-- stage: a replay selects "what rules older than X made" by it.
ALTER TABLE articles ADD COLUMN normalizer_version TEXT NOT NULL DEFAULT '';
ALTER TABLE articles ADD COLUMN tagger_version TEXT NOT NULL DEFAULT '';

CREATE TABLE stage_versions (
    stage      TEXT    NOT NULL,
    version    TEXT    NOT NULL,
    first_seen BIGINT  NOT NULL,
    PRIMARY KEY (stage, version)
);
