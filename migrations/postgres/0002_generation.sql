-- The registry's generation: bumped by every committed write, in the write's own
-- transaction, which also sends NOTIFY herald_registry. Instances keep a read cache only
-- while they hear every bump (see src/registry/cache.rs).
CREATE TABLE registry_generation (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);

INSERT INTO registry_generation (id, generation) VALUES (1, 0);
