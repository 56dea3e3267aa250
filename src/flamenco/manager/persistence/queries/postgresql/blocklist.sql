-- PostgreSQL's own text of queries that SQLite words differently (see ../sqlite/).

-- name: fetch_workers_able_to_run
-- UUIDs of Workers that may still run tasks of this type in this job: not deleted,
-- supporting the task type, matching the job's tag and not blocklisted for it.
SELECT workers.uuid FROM workers
WHERE workers.deleted_at IS NULL
  AND strpos(',' || workers.supported_task_types || ',', ',' || :task_type || ',') > 0
  AND (
    (SELECT worker_tag_id FROM jobs WHERE id = :job_id) IS NULL
    OR workers.id IN (
        SELECT worker_id FROM worker_tag_membership
        WHERE worker_tag_id = (SELECT worker_tag_id FROM jobs WHERE id = :job_id)
    )
  )
  AND workers.id NOT IN (
    SELECT worker_id FROM job_blocks WHERE job_id = :job_id AND task_type = :task_type
  );
