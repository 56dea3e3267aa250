-- name: fetch_sleep_schedule
SELECT sleep_schedules.*, workers.uuid AS worker_uuid
FROM sleep_schedules JOIN workers ON workers.id = sleep_schedules.worker_id
WHERE sleep_schedules.worker_id = :worker_id;

-- name: save_sleep_schedule
INSERT INTO sleep_schedules (
    created_at, updated_at, worker_id, is_active, days_of_week, start_time, end_time, next_check
) VALUES (:now, :now, :worker_id, :is_active, :days_of_week, :start_time, :end_time, :next_check)
ON CONFLICT (worker_id) DO UPDATE SET
    updated_at = excluded.updated_at,
    is_active = excluded.is_active,
    days_of_week = excluded.days_of_week,
    start_time = excluded.start_time,
    end_time = excluded.end_time,
    next_check = excluded.next_check;

-- name: save_sleep_schedule_next_check
UPDATE sleep_schedules SET next_check = :next_check WHERE worker_id = :worker_id;

-- name: fetch_sleep_schedules_to_check
-- Active schedules of Workers that still exist, whose next check is due.
SELECT sleep_schedules.*, workers.uuid AS worker_uuid
FROM sleep_schedules JOIN workers ON workers.id = sleep_schedules.worker_id
WHERE sleep_schedules.is_active != 0
  AND workers.deleted_at IS NULL
  AND (sleep_schedules.next_check IS NULL OR sleep_schedules.next_check <= :now)
ORDER BY sleep_schedules.worker_id;
