-- The event pipeline (ADR 0017): the transactional outbox, the hash-chained audit log, and
-- notifications with their per-user preferences.

-- Every integration event (project events and security events) is written here in the same
-- transaction as the change it records. The relay publishes rows in id order and then sets
-- published_at; a crash in between republishes them, and consumers dedupe by event_id.
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    event_id     uuid NOT NULL UNIQUE,
    topic        text NOT NULL,
    key          text NOT NULL,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;

-- Wake the relay at commit (NOTIFY is delivered only when the transaction commits, and
-- duplicates within one transaction are folded into one).
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('boardroom_outbox', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- One hash chain per workspace; account-level security events (logins) use the chain of
-- the nil UUID. hash = sha256(prev_hash || canonical JSON of the row's recorded fields).
CREATE TABLE audit_log (
    chain_id       uuid NOT NULL,
    seq            bigint NOT NULL,
    event_id       uuid NOT NULL UNIQUE,
    kind           text NOT NULL CHECK (kind IN ('project', 'security')),
    type           text NOT NULL,
    occurred_at    timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    actor_id       uuid,
    workspace_id   uuid,
    project_id     uuid,
    outcome        text NOT NULL,
    origin         jsonb NOT NULL,
    correlation_id text,
    data           jsonb NOT NULL,
    prev_hash      bytea NOT NULL,
    hash           bytea NOT NULL,
    PRIMARY KEY (chain_id, seq)
);
CREATE INDEX audit_log_chain_time ON audit_log (chain_id, occurred_at);
CREATE INDEX audit_log_actor ON audit_log (chain_id, actor_id, seq);

-- The head of each chain, locked by every append: it serializes appends per chain and lets
-- `boardroom audit verify` notice rows deleted from the end.
CREATE TABLE audit_heads (
    chain_id uuid PRIMARY KEY,
    seq      bigint NOT NULL,
    hash     bytea NOT NULL
);

CREATE TABLE notifications (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    event_id     uuid NOT NULL,
    reason       text NOT NULL,
    type         text NOT NULL,
    workspace_id uuid,
    project_id   uuid,
    task_id      uuid,
    actor_id     uuid,
    data         jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    pushed_at    timestamptz,
    read_at      timestamptz,
    emailed_at   timestamptz,
    UNIQUE (event_id, user_id)
);
CREATE INDEX notifications_user ON notifications (user_id, created_at DESC);
CREATE INDEX notifications_unread ON notifications (user_id) WHERE read_at IS NULL;

CREATE TABLE notification_preferences (
    user_id       uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    email_enabled boolean NOT NULL DEFAULT true,
    muted_projects uuid[] NOT NULL DEFAULT '{}'
);
