-- A digest of everything stored for an article (its text, metadata, topics
-- and keywords), so a replay through a newer normalizer or tagger, which
-- keeps the fetched page's content_hash, still updates the row.
ALTER TABLE articles ADD COLUMN record_hash TEXT NOT NULL DEFAULT '';
