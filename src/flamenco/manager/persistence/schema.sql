-- The schema that applying every migration in migrations/ produces (a test checks).
-- Edit the migrations, then regenerate this file: python -m flamenco.manager.persistence

CREATE TABLE worker_tags (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    updated_at TEXT,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE workers (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    updated_at TEXT,
    uuid TEXT NOT NULL UNIQUE,
    secret TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    platform TEXT NOT NULL DEFAULT '',
    software TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'offline',
    last_seen_at TEXT,
    status_requested TEXT NOT NULL DEFAULT '',
    lazy_status_request INTEGER NOT NULL DEFAULT 0,
    supported_task_types TEXT NOT NULL DEFAULT '',
    deleted_at TEXT,
    can_restart INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE worker_tag_membership (
    worker_tag_id INTEGER NOT NULL REFERENCES worker_tags (id) ON DELETE CASCADE,
    worker_id INTEGER NOT NULL REFERENCES workers (id) ON DELETE CASCADE,
    PRIMARY KEY (worker_tag_id, worker_id)
) WITHOUT ROWID;

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    job_type TEXT NOT NULL,
    priority INTEGER NOT NULL,
    status TEXT NOT NULL,
    activity TEXT NOT NULL DEFAULT '',
    settings TEXT NOT NULL DEFAULT '{}',
    metadata TEXT NOT NULL DEFAULT '{}',
    submitter_platform TEXT NOT NULL DEFAULT '',
    delete_requested_at TEXT,
    storage_shaman_checkout_id TEXT NOT NULL DEFAULT '',
    worker_tag_id INTEGER REFERENCES worker_tags (id) ON DELETE SET NULL,
    steps_completed INTEGER NOT NULL DEFAULT 0,
    steps_total INTEGER NOT NULL DEFAULT 0
, max_workers INTEGER);

CREATE TABLE tasks (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    -- Copy of jobs.priority, so that the scheduler can walk one index in the
    -- order "job priority, task priority, submission order".
    job_priority INTEGER NOT NULL,
    index_in_job INTEGER NOT NULL,
    priority INTEGER NOT NULL DEFAULT 50,
    status TEXT NOT NULL,
    worker_id INTEGER REFERENCES workers (id) ON DELETE SET NULL,
    last_touched_at TEXT,
    commands TEXT NOT NULL DEFAULT '[]',
    activity TEXT NOT NULL DEFAULT '',
    steps_completed INTEGER NOT NULL DEFAULT 0,
    steps_total INTEGER NOT NULL DEFAULT 0, last_progress_at TEXT, job_waiting INTEGER NOT NULL DEFAULT 0, status_changed_at TEXT,
    UNIQUE (job_id, index_in_job)
);

CREATE TABLE task_dependencies (
    task_id INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    dependency_id INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    PRIMARY KEY (task_id, dependency_id)
) WITHOUT ROWID;

CREATE TABLE job_blocks (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    worker_id INTEGER NOT NULL REFERENCES workers (id) ON DELETE CASCADE,
    task_type TEXT NOT NULL,
    UNIQUE (job_id, worker_id, task_type)
);

CREATE TABLE sleep_schedules (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    updated_at TEXT,
    worker_id INTEGER NOT NULL UNIQUE REFERENCES workers (id) ON DELETE CASCADE,
    is_active INTEGER NOT NULL DEFAULT 0,
    days_of_week TEXT NOT NULL DEFAULT '',
    start_time TEXT NOT NULL DEFAULT '',
    end_time TEXT NOT NULL DEFAULT '',
    next_check TEXT
);

CREATE TABLE last_rendereds (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    created_at TEXT NOT NULL,
    updated_at TEXT,
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE
);

CREATE TABLE task_failures (
    task_id INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    worker_id INTEGER NOT NULL REFERENCES workers (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (task_id, worker_id)
) WITHOUT ROWID;

CREATE TABLE job_task_counts (
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    num_tasks INTEGER NOT NULL,
    PRIMARY KEY (job_id, status)
);

CREATE TABLE job_dependencies (
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    depends_on_job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, depends_on_job_id)
) WITHOUT ROWID;

CREATE TABLE notification_deliveries (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    event TEXT NOT NULL,
    destination TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_attempt_at TEXT,
    delivered_at TEXT,
    last_error TEXT NOT NULL DEFAULT ''
);

CREATE TABLE task_runs (
    id INTEGER PRIMARY KEY,
    task_id INTEGER NOT NULL,
    task_uuid TEXT NOT NULL,
    task_name TEXT NOT NULL,
    task_type TEXT NOT NULL,
    job_uuid TEXT NOT NULL,
    worker_uuid TEXT NOT NULL,
    worker_name TEXT NOT NULL,
    queued_at TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT
);

CREATE TABLE frame_statistics (
    id INTEGER PRIMARY KEY,
    recorded_at TEXT NOT NULL,
    job_uuid TEXT NOT NULL,
    task_uuid TEXT NOT NULL,
    worker_uuid TEXT NOT NULL,
    worker_name TEXT NOT NULL,
    frame INTEGER,
    render_seconds REAL NOT NULL,
    saving_seconds REAL,
    peak_memory_bytes INTEGER
);

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

CREATE TABLE job_resource_limits (
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    task_type TEXT NOT NULL,
    limit_name TEXT NOT NULL,
    PRIMARY KEY (job_id, task_type, limit_name)
) WITHOUT ROWID;

CREATE INDEX worker_tag_membership_worker ON worker_tag_membership (worker_id);

CREATE INDEX jobs_status ON jobs (status);

CREATE INDEX jobs_updated_at ON jobs (updated_at);

CREATE INDEX jobs_worker_tag ON jobs (worker_tag_id);

CREATE INDEX jobs_delete_requested_at ON jobs (delete_requested_at)
    WHERE delete_requested_at IS NOT NULL;

CREATE INDEX tasks_job_status ON tasks (job_id, status);

CREATE INDEX tasks_worker_status ON tasks (worker_id, status);

CREATE INDEX task_dependencies_dependency ON task_dependencies (dependency_id);

CREATE INDEX job_blocks_worker ON job_blocks (worker_id);

CREATE INDEX last_rendereds_job ON last_rendereds (job_id);

CREATE INDEX task_failures_worker ON task_failures (worker_id);

CREATE INDEX job_dependencies_depends_on ON job_dependencies (depends_on_job_id);

CREATE INDEX tasks_schedulable ON tasks (job_priority DESC, priority DESC, id)
    WHERE status IN ('queued', 'soft-failed') AND job_waiting = 0;

CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at)
    WHERE status = 'pending';

CREATE INDEX task_runs_job ON task_runs (job_uuid);

CREATE INDEX task_runs_worker_started ON task_runs (worker_uuid, started_at);

CREATE INDEX task_runs_started ON task_runs (started_at);

CREATE INDEX task_runs_open ON task_runs (task_id) WHERE finished_at IS NULL;

CREATE INDEX frame_statistics_job ON frame_statistics (job_uuid, frame);

CREATE INDEX frame_statistics_recorded ON frame_statistics (recorded_at);

CREATE INDEX user_sessions_user ON user_sessions (user_id);

CREATE INDEX jobs_max_workers ON jobs (status) WHERE max_workers IS NOT NULL;

CREATE INDEX jobs_runnable_priority ON jobs (priority) WHERE status IN ('active', 'queued');

CREATE INDEX tasks_active ON tasks (id) WHERE status = 'active';

CREATE VIEW job_view AS
SELECT jobs.*, worker_tags.uuid AS worker_tag_uuid
FROM jobs
LEFT JOIN worker_tags ON worker_tags.id = jobs.worker_tag_id;

CREATE VIEW task_view AS
SELECT
    tasks.*,
    jobs.uuid AS job_uuid,
    workers.uuid AS worker_uuid,
    workers.name AS worker_name,
    workers.address AS worker_address
FROM tasks
JOIN jobs ON jobs.id = tasks.job_id
LEFT JOIN workers ON workers.id = tasks.worker_id;
