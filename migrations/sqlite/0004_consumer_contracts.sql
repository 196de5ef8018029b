-- What each consumer group declares it reads of a subject: a field list or a reader schema
-- (`body`, JSON: {"version": n, "fields": [...]} or {"version": n, "schemaType": ..,
-- "schema": ..}), against one of the subject's versions. Registration refuses a change that
-- breaks a declared reader. One contract per group and subject.
CREATE TABLE consumer_contracts (
    consumer_group TEXT    NOT NULL,
    subject        TEXT    NOT NULL,
    body           TEXT    NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (consumer_group, subject)
);
CREATE INDEX consumer_contracts_by_subject ON consumer_contracts (subject);
