-- The text a schema was registered as, kept beside the stored text when it holds what the
-- stored text drops: the comments of a Protobuf file, which Confluent's printed form leaves
-- out (so that text differing only in comments keeps one id) and which the docs show as
-- descriptions. The first registration of an id keeps its text; nothing else reads it.
CREATE TABLE schema_sources (
    context TEXT    NOT NULL,
    id      INTEGER NOT NULL,
    source  TEXT    NOT NULL,
    PRIMARY KEY (context, id),
    FOREIGN KEY (context, id) REFERENCES schemas (context, id)
);
