-- Access control: API tokens for people and scripts, Worker enrolment tokens, and who
-- submitted each job. Tokens are stored as the SHA-256 of the token, never as the token.
CREATE TABLE access_tokens (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    principal TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    expires_at TEXT,
    single_use INTEGER NOT NULL DEFAULT 0,
    used_at TEXT,
    revoked_at TEXT
);

CREATE TABLE job_submitters (
    job_id INTEGER PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    principal TEXT NOT NULL
);
