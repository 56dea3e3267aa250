-- The notification outbox: one row per message to one destination (a webhook, or email),
-- written in the transaction that made the event happen, so a crash loses no delivery.
-- Rows outlive their job on purpose: the payload says which job it was.
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

-- The delivery service's question: what is due?
CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at)
    WHERE status = 'pending';
