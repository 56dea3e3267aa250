-- Access control: API tokens for people and scripts, Worker enrolment tokens, who
-- submitted each job, and web interface users with their login sessions, and the audit log.
-- Tokens and session IDs are stored as their SHA-256, passwords as bcrypt hashes.
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

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL
);

CREATE TABLE user_sessions (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    session_hash TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE INDEX user_sessions_user ON user_sessions (user_id);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    principal TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    operation TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}',
    status INTEGER NOT NULL
);
