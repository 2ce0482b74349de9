-- Each login attempt is counted as a failure before its password is checked (under a lock per
-- address, so concurrent guesses cannot all pass the count) and forgotten if it succeeds: the
-- attempt's id finds its row again. Older rows and older servers leave it NULL (ADR 0035).
ALTER TABLE login_failures ADD COLUMN attempt_id uuid;
CREATE INDEX login_failures_attempt ON login_failures (attempt_id) WHERE attempt_id IS NOT NULL;
