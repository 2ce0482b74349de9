-- Due-date reminders (sent once per task, kind and due date) and outgoing webhooks with their
-- delivery log (ADR 0021).

CREATE TABLE reminders_sent (
    task_id  uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    kind     text NOT NULL CHECK (kind IN ('due_soon', 'overdue')),
    due_at   timestamptz NOT NULL,
    sent_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (task_id, kind, due_at)
);
CREATE INDEX tasks_due ON tasks (due_at) WHERE due_at IS NOT NULL AND archived_at IS NULL;

CREATE TABLE webhooks (
    id          uuid PRIMARY KEY,
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    url         text NOT NULL,
    secret      text NOT NULL,
    event_types text[] NOT NULL DEFAULT '{}',  -- empty: every event type
    created_by  uuid NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    active      boolean NOT NULL DEFAULT true
);
CREATE INDEX webhooks_project ON webhooks (project_id) WHERE active;

CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY,
    webhook_id      uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id        uuid NOT NULL,
    event_type      text NOT NULL,
    payload         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'dead_lettered')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_status     integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, created_at DESC);

-- When each user last got an e-mail digest: claimed per user, so two workers never send the
-- same person two digests in one interval.
CREATE TABLE email_digests (
    user_id      uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    last_sent_at timestamptz NOT NULL
);
CREATE INDEX notifications_unemailed ON notifications (user_id, created_at)
    WHERE emailed_at IS NULL AND read_at IS NULL;
