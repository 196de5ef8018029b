-- The registry's state. Rows of `schemas` are never deleted, so a schema id is never given
-- to different content, even after every version using it was deleted permanently.

CREATE TABLE schemas (
    id          BIGINT PRIMARY KEY,
    -- MD5 over type, canonical text, references, metadata and rule set: the schema's identity.
    fingerprint TEXT    NOT NULL UNIQUE,
    -- MD5 over type, canonical text and references: what a lookup without metadata matches.
    content     TEXT    NOT NULL,
    schema_type TEXT    NOT NULL,
    schema      TEXT    NOT NULL,
    -- The references as a JSON array of {name, subject, version}; '[]' when there are none.
    refs        TEXT    NOT NULL,
    metadata    TEXT,
    rule_set    TEXT,
    created_at  BIGINT  NOT NULL
);

CREATE INDEX schemas_by_content ON schemas (content);

CREATE TABLE subject_versions (
    subject    TEXT    NOT NULL,
    version    BIGINT  NOT NULL,
    schema_id  BIGINT  NOT NULL REFERENCES schemas (id),
    deleted    BIGINT  NOT NULL DEFAULT 0, -- 1 once soft-deleted
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (subject, version)
);

-- (schema_id, subject): finds "this content under this subject" without walking the subject.
CREATE INDEX subject_versions_by_schema ON subject_versions (schema_id, subject);

-- One row per reference, for `referencedby` and the delete rules.
CREATE TABLE schema_references (
    schema_id   BIGINT  NOT NULL REFERENCES schemas (id),
    position    BIGINT  NOT NULL,
    name        TEXT    NOT NULL,
    ref_subject TEXT    NOT NULL,
    ref_version BIGINT  NOT NULL,
    PRIMARY KEY (schema_id, position)
);

CREATE INDEX schema_references_by_target ON schema_references (ref_subject, ref_version);

-- Compatibility configuration by scope: '__GLOBAL' or a subject name. `body` is JSON.
CREATE TABLE configs (
    scope TEXT PRIMARY KEY,
    body  TEXT NOT NULL
);

-- Modes by scope, as configs.
CREATE TABLE modes (
    scope TEXT PRIMARY KEY,
    mode  TEXT NOT NULL
);
