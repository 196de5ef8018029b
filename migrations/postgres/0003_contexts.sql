-- Schema contexts: schema ids are unique per context, not per registry. A context is named
-- like `.staging`; `.` is the default context, the one unqualified subjects live in. Every
-- row written before contexts existed belongs to the default context.

ALTER TABLE schema_references DROP CONSTRAINT schema_references_schema_id_fkey;
ALTER TABLE subject_versions DROP CONSTRAINT subject_versions_schema_id_fkey;

ALTER TABLE schemas ADD COLUMN context TEXT NOT NULL DEFAULT '.';
ALTER TABLE schemas DROP CONSTRAINT schemas_pkey;
ALTER TABLE schemas DROP CONSTRAINT schemas_fingerprint_key;
ALTER TABLE schemas ADD PRIMARY KEY (context, id);
ALTER TABLE schemas ADD CONSTRAINT schemas_fingerprint_key UNIQUE (context, fingerprint);
DROP INDEX schemas_by_content;
CREATE INDEX schemas_by_content ON schemas (context, content);

-- The context of the version's schema id: the subject's context when it was written.
ALTER TABLE subject_versions ADD COLUMN context TEXT NOT NULL DEFAULT '.';
ALTER TABLE subject_versions
    ADD FOREIGN KEY (context, schema_id) REFERENCES schemas (context, id);
DROP INDEX subject_versions_by_schema;
CREATE INDEX subject_versions_by_schema ON subject_versions (context, schema_id, subject);

ALTER TABLE schema_references ADD COLUMN context TEXT NOT NULL DEFAULT '.';
ALTER TABLE schema_references DROP CONSTRAINT schema_references_pkey;
ALTER TABLE schema_references ADD PRIMARY KEY (context, schema_id, position);
ALTER TABLE schema_references
    ADD FOREIGN KEY (context, schema_id) REFERENCES schemas (context, id);

-- The contexts other than the default one, from the first write into them until
-- `DELETE /contexts/{context}` removes them, empty.
CREATE TABLE contexts (
    name TEXT PRIMARY KEY
);
