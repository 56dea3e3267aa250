-- SQLite 3.40 (Debian 12) misreads WITHOUT ROWID tables whose NOT NULL non-key
-- columns come before the primary-key columns: PRAGMA integrity_check reports
-- "NULL value in task_failures.created_at" for rows that hold a value. Rebuild
-- task_failures with its key columns first, keeping every row. The other
-- WITHOUT ROWID tables (worker_tag_membership, task_dependencies) hold only
-- their key columns, in key order, and are not affected; a test checks that
-- every WITHOUT ROWID table starts with its key columns in key order.
ALTER TABLE task_failures RENAME TO task_failures_before_0003;

DROP INDEX task_failures_worker;

CREATE TABLE task_failures (
    task_id INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    worker_id INTEGER NOT NULL REFERENCES workers (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (task_id, worker_id)
) WITHOUT ROWID;

INSERT INTO task_failures (task_id, worker_id, created_at)
SELECT task_id, worker_id, created_at FROM task_failures_before_0003;

DROP TABLE task_failures_before_0003;

CREATE INDEX task_failures_worker ON task_failures (worker_id);
