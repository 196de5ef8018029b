-- Schema contexts: schema ids are unique per context, not per registry. A context is named
-- like `.staging`; `.` is the default context, the one unqualified subjects live in.
--
-- SQLite cannot change a primary key in place, so the three id-keyed tables are rebuilt
-- with the context in their keys. Every row written before contexts existed belongs to the
-- default context.

CREATE TABLE schemas_by_context (
    context     TEXT    NOT NULL,
    id          INTEGER NOT NULL,
    fingerprint TEXT    NOT NULL,
    content     TEXT    NOT NULL,
    schema_type TEXT    NOT NULL,
    schema      TEXT    NOT NULL,
    refs        TEXT    NOT NULL,
    metadata    TEXT,
    rule_set    TEXT,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (context, id),
    UNIQUE (context, fingerprint)
);

INSERT INTO schemas_by_context
    SELECT '.', id, fingerprint, content, schema_type, schema, refs, metadata, rule_set, created_at FROM schemas;

CREATE TABLE subject_versions_by_context (
    subject    TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    -- The context of the version's schema id: the subject's context when it was written.
    context    TEXT    NOT NULL,
    schema_id  INTEGER NOT NULL,
    deleted    INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (subject, version),
    FOREIGN KEY (context, schema_id) REFERENCES schemas_by_context (context, id)
);

INSERT INTO subject_versions_by_context
    SELECT subject, version, '.', schema_id, deleted, created_at FROM subject_versions;

CREATE TABLE schema_references_by_context (
    context     TEXT    NOT NULL,
    schema_id   INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    -- Qualified with the referring schema's context unless it names another one.
    ref_subject TEXT    NOT NULL,
    ref_version INTEGER NOT NULL,
    PRIMARY KEY (context, schema_id, position),
    FOREIGN KEY (context, schema_id) REFERENCES schemas_by_context (context, id)
);

INSERT INTO schema_references_by_context
    SELECT '.', schema_id, position, name, ref_subject, ref_version FROM schema_references;

DROP TABLE schema_references;
DROP TABLE subject_versions;
DROP TABLE schemas;

ALTER TABLE schemas_by_context RENAME TO schemas;
ALTER TABLE subject_versions_by_context RENAME TO subject_versions;
ALTER TABLE schema_references_by_context RENAME TO schema_references;

CREATE INDEX schemas_by_content ON schemas (context, content);
CREATE INDEX subject_versions_by_schema ON subject_versions (context, schema_id, subject);
CREATE INDEX schema_references_by_target ON schema_references (ref_subject, ref_version);

-- The contexts other than the default one, from the first write into them until
-- `DELETE /contexts/{context}` removes them, empty.
CREATE TABLE contexts (
    name TEXT PRIMARY KEY
);
