-- Failed logins in the last hour, per e-mail address as typed (existing account or not, so
-- throttling reveals nothing) and per trusted device (ADR 0022).
CREATE TABLE login_failures (
    email_key text NOT NULL,
    device_id uuid,
    failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_key ON login_failures (email_key, failed_at);
