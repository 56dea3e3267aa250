-- name: insert_access_token
INSERT INTO access_tokens (
    created_at, token_hash, kind, principal, role, description, expires_at, single_use
) VALUES (
    :now, :token_hash, :kind, :principal, :role, :description, :expires_at, :single_use
)
RETURNING id;

-- name: fetch_access_tokens
SELECT * FROM access_tokens WHERE revoked_at IS NULL ORDER BY id;

-- name: fetch_access_token
SELECT * FROM access_tokens WHERE id = :id AND revoked_at IS NULL;

-- name: find_usable_api_token
-- A token that still works: not revoked, not expired.
SELECT * FROM access_tokens
WHERE token_hash = :token_hash
  AND kind = 'api'
  AND revoked_at IS NULL
  AND (expires_at IS NULL OR expires_at > :now);

-- name: use_enrolment_token
-- Takes a Worker enrolment token, once only if it is single-use, in one statement so
-- that two Workers racing for a single-use token cannot both have it.
UPDATE access_tokens SET used_at = :now
WHERE token_hash = :token_hash
  AND kind = 'enrolment'
  AND revoked_at IS NULL
  AND (expires_at IS NULL OR expires_at > :now)
  AND (single_use = 0 OR used_at IS NULL)
RETURNING id, principal;

-- name: find_enrolment_token
SELECT id, principal FROM access_tokens
WHERE token_hash = :token_hash
  AND kind = 'enrolment'
  AND revoked_at IS NULL
  AND (expires_at IS NULL OR expires_at > :now)
  AND (single_use = 0 OR used_at IS NULL);

-- name: revoke_access_token
UPDATE access_tokens SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL;

-- name: insert_job_submitter
INSERT INTO job_submitters (job_id, principal)
SELECT id, :principal FROM jobs WHERE uuid = :job_uuid
ON CONFLICT (job_id) DO UPDATE SET principal = excluded.principal;

-- name: fetch_job_submitter
-- One row when the job exists; its principal is NULL when nobody is recorded.
SELECT jobs.uuid AS job_uuid, job_submitters.principal
FROM jobs LEFT JOIN job_submitters ON job_submitters.job_id = jobs.id
WHERE jobs.uuid = :job_uuid;

-- name: fetch_task_job_submitter
SELECT jobs.uuid AS job_uuid, job_submitters.principal
FROM tasks
JOIN jobs ON jobs.id = tasks.job_id
LEFT JOIN job_submitters ON job_submitters.job_id = jobs.id
WHERE tasks.uuid = :task_uuid;

-- name: insert_user
INSERT INTO users (created_at, name, role, password_hash)
VALUES (:now, :name, :role, :password_hash)
ON CONFLICT (name) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash;

-- name: fetch_user_by_name
SELECT * FROM users WHERE name = :name;

-- name: fetch_users
SELECT * FROM users ORDER BY name;

-- name: count_users
SELECT count(*) FROM users;

-- name: delete_user
DELETE FROM users WHERE name = :name;

-- name: insert_session
INSERT INTO user_sessions (created_at, session_hash, user_id, csrf_token, expires_at)
VALUES (:now, :session_hash, :user_id, :csrf_token, :expires_at);

-- name: find_session
SELECT users.name, users.role, user_sessions.csrf_token
FROM user_sessions JOIN users ON users.id = user_sessions.user_id
WHERE user_sessions.session_hash = :session_hash AND user_sessions.expires_at > :now;

-- name: delete_session
DELETE FROM user_sessions WHERE session_hash = :session_hash;

-- name: delete_expired_sessions
DELETE FROM user_sessions WHERE expires_at <= :now;

-- name: insert_audit_entry
INSERT INTO audit_log (created_at, principal, address, operation, subject, detail, status)
VALUES (:now, :principal, :address, :operation, :subject, :detail, :status);

-- name: fetch_audit_log
-- Newest first, before an ID for paging (a very large one for the first page).
SELECT * FROM audit_log WHERE id < :before ORDER BY id DESC LIMIT :limit;
