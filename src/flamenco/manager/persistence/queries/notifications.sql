-- name: insert_notification_delivery
INSERT INTO notification_deliveries (
    created_at, event, destination, payload, status, attempts, next_attempt_at
) VALUES (:now, :event, :destination, :payload, 'pending', 0, :now);

-- name: fetch_due_notification_deliveries
-- Oldest first, so that one stuck destination cannot starve the others for long.
SELECT * FROM notification_deliveries
WHERE status = 'pending' AND next_attempt_at <= :now
ORDER BY next_attempt_at, id
LIMIT :limit;

-- name: fetch_pending_notification_destinations
SELECT DISTINCT destination FROM notification_deliveries WHERE status = 'pending';

-- name: make_pending_notification_deliveries_due
UPDATE notification_deliveries SET next_attempt_at = :now
WHERE status = 'pending' AND destination = :destination AND next_attempt_at > :now;

-- name: fetch_next_notification_attempt
SELECT min(next_attempt_at) FROM notification_deliveries WHERE status = 'pending';

-- name: save_notification_attempt
-- Only a pending delivery changes: one that an operator abandoned meanwhile stays so.
UPDATE notification_deliveries SET
    status = :status,
    attempts = attempts + 1,
    last_attempt_at = :now,
    next_attempt_at = :next_attempt_at,
    delivered_at = :delivered_at,
    last_error = :last_error
WHERE id = :id AND status = 'pending';

-- name: fetch_recent_notification_deliveries
SELECT * FROM notification_deliveries
WHERE (:status = '' OR status = :status)
ORDER BY id DESC
LIMIT :limit;

-- name: fetch_notification_delivery
SELECT * FROM notification_deliveries WHERE id = :id;

-- name: retry_notification_delivery
UPDATE notification_deliveries SET status = 'pending', next_attempt_at = :now
WHERE id = :id AND status = 'failed';

-- name: delete_finished_notification_deliveries
DELETE FROM notification_deliveries WHERE status <> 'pending' AND created_at < :before;

-- name: fetch_approvals_freed_by_task
-- Approval tasks that depend on this (just completed) task and now have no unfinished
-- task dependencies left: they start waiting for a person.
SELECT approval.id, approval.name
FROM task_dependencies
JOIN tasks AS approval ON approval.id = task_dependencies.task_id
WHERE task_dependencies.dependency_id = :task_id
  AND approval.type = 'approval'
  AND approval.status = 'queued'
  AND NOT EXISTS (
      SELECT 1 FROM task_dependencies AS other
      JOIN tasks AS dependency ON dependency.id = other.dependency_id
      WHERE other.task_id = approval.id AND dependency.status <> 'completed'
  )
ORDER BY approval.id;
