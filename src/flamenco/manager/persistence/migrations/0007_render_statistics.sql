-- Render statistics: each time a task ran (queued, started, finished, on which Worker) and
-- each frame Blender reported (render time, peak memory). No foreign keys: statistics
-- outlive deleted jobs and Workers until the retention setting prunes them, and their
-- writes take no locks on the rows that scheduling and task updates lock.
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

CREATE INDEX task_runs_job ON task_runs (job_uuid);

CREATE INDEX task_runs_worker_started ON task_runs (worker_uuid, started_at);

CREATE INDEX task_runs_started ON task_runs (started_at);

CREATE INDEX task_runs_open ON task_runs (task_id) WHERE finished_at IS NULL;

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

CREATE INDEX frame_statistics_job ON frame_statistics (job_uuid, frame);

CREATE INDEX frame_statistics_recorded ON frame_statistics (recorded_at);
