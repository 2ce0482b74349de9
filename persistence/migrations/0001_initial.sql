-- Accounts, tenancy, the board, and the per-project event log.

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL,
    display_name  text NOT NULL,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- Only the SHA-256 digest of a refresh token is stored. A family is one login's chain of
-- rotations: presenting a spent token revokes the whole family (ADR 0004).
CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id   uuid NOT NULL,
    token_hash  bytea NOT NULL UNIQUE,
    issued_at   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE workspaces (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    created_by  uuid NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE workspace_members (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role         text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'guest')),
    joined_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX workspace_members_user ON workspace_members (user_id);

-- last_seq is the project's event counter: incrementing it row-locks the project, which
-- serializes the project's writers and keeps seq gapless (a rolled-back increment never shows).
CREATE TABLE projects (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL,
    created_by   uuid NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seq     bigint NOT NULL DEFAULT 0
);
CREATE INDEX projects_workspace ON projects (workspace_id);

CREATE TABLE project_members (
    project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('manager', 'editor', 'commenter', 'viewer')),
    PRIMARY KEY (project_id, user_id)
);

-- Fractional order keys compare bytewise: collation "C" (ADR 0006).
CREATE TABLE columns (
    id          uuid PRIMARY KEY,
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name        text NOT NULL,
    position    text COLLATE "C" NOT NULL,
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX columns_project_position ON columns (project_id, position);

CREATE TABLE tasks (
    id          uuid PRIMARY KEY,
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    column_id   uuid NOT NULL REFERENCES columns (id) ON DELETE CASCADE,
    title       text NOT NULL,
    description text NOT NULL DEFAULT '',
    position    text COLLATE "C" NOT NULL,
    version     integer NOT NULL DEFAULT 1,
    created_by  uuid NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_column_position ON tasks (column_id, position);
CREATE INDEX tasks_project ON tasks (project_id);

-- The project event log: gapless seq per project. published_at makes it the outbox (ADR 0005).
CREATE TABLE project_events (
    project_id   uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    seq          bigint NOT NULL,
    type         text NOT NULL,
    actor_id     uuid NOT NULL,
    op_id        text NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    data         jsonb NOT NULL,
    published_at timestamptz,
    PRIMARY KEY (project_id, seq)
);
CREATE INDEX project_events_unpublished ON project_events (at) WHERE published_at IS NULL;
