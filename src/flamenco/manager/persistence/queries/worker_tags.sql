-- name: insert_worker_tag
INSERT INTO worker_tags (created_at, updated_at, uuid, name, description)
VALUES (:now, :now, :uuid, :name, :description);

-- name: fetch_worker_tag
SELECT * FROM worker_tags WHERE uuid = :uuid;

-- name: fetch_worker_tag_by_name
SELECT * FROM worker_tags WHERE name = :name;

-- name: fetch_worker_tags
SELECT * FROM worker_tags ORDER BY name;

-- name: save_worker_tag
UPDATE worker_tags SET name = :name, description = :description, updated_at = :now WHERE id = :id;

-- name: delete_worker_tag
DELETE FROM worker_tags WHERE id = :id;

-- name: fetch_tags_of_worker
SELECT worker_tags.* FROM worker_tags
JOIN worker_tag_membership ON worker_tag_membership.worker_tag_id = worker_tags.id
WHERE worker_tag_membership.worker_id = :worker_id
ORDER BY worker_tags.name;

-- name: clear_worker_tag_memberships
DELETE FROM worker_tag_membership WHERE worker_id = :worker_id;

-- name: add_worker_tag_membership
INSERT INTO worker_tag_membership (worker_tag_id, worker_id)
SELECT id, :worker_id FROM worker_tags WHERE uuid = :tag_uuid
ON CONFLICT DO NOTHING;
