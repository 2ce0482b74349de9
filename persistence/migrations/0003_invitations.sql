-- Invitations by e-mail: accepted when a user with that address registers or logs in.
CREATE TABLE invitations (
    id            uuid PRIMARY KEY,
    workspace_id  uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email         text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'member', 'guest')),
    project_id    uuid REFERENCES projects (id) ON DELETE CASCADE,
    project_role  text CHECK (project_role IN ('manager', 'editor', 'commenter', 'viewer')),
    invited_by    uuid NOT NULL REFERENCES users (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    accepted_at   timestamptz,
    accepted_by   uuid REFERENCES users (id),
    CHECK ((project_id IS NULL) = (project_role IS NULL))
);
CREATE UNIQUE INDEX invitations_one_pending
    ON invitations (workspace_id, lower(email)) WHERE accepted_at IS NULL;
CREATE INDEX invitations_email_pending ON invitations (lower(email)) WHERE accepted_at IS NULL;
