-- Idempotency store: one row per (actor, op_id), written in the transaction of the change it
-- records, with the reply that was acknowledged (ADR 0009).
CREATE TABLE applied_ops (
    actor_id   uuid NOT NULL,
    op_id      text NOT NULL,
    command    text NOT NULL,
    reply      jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (actor_id, op_id)
);
CREATE INDEX applied_ops_created ON applied_ops (created_at);

-- For each field, the entity version that last changed it: an update based on version v
-- conflicts exactly when a field it changes has a later version (ADR 0010).
ALTER TABLE tasks ADD COLUMN field_versions jsonb NOT NULL DEFAULT '{}';
ALTER TABLE columns ADD COLUMN field_versions jsonb NOT NULL DEFAULT '{}';
