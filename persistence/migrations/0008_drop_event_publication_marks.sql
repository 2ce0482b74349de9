-- The event log was first meant to be its own outbox; the outbox became a table of its own
-- (ADR 0017), so project_events.published_at was never set and its partial index covered every
-- row, costing an index update on each operation for nothing.
DROP INDEX IF EXISTS project_events_unpublished;
ALTER TABLE project_events DROP COLUMN IF EXISTS published_at;
