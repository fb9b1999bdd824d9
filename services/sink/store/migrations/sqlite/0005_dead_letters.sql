-- Dead letters per source, day (days since the Unix epoch, UTC), stage and
-- reason, for the sources statistics: a site whose pages all end as empty
-- extractions shows here while it stores nothing.
CREATE TABLE source_dead_letters (
    source TEXT   NOT NULL,
    day    BIGINT NOT NULL,
    stage  TEXT   NOT NULL,
    reason TEXT   NOT NULL,
    count  BIGINT NOT NULL,
    PRIMARY KEY (source, day, stage, reason)
);
