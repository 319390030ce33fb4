-- The chat's own copy of the users and orders the main backend tells us about,
-- the messages, and each user's read position per order.

-- directory = 1 when the main backend wrote the profile; token claims only fill rows with 0.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    user_type     TEXT NOT NULL,
    display_image TEXT,
    blocked       BOOLEAN NOT NULL DEFAULT 0,
    directory     BOOLEAN NOT NULL DEFAULT 0,
    updated_at    INTEGER NOT NULL
);

-- last_seq is the seq of the newest message; it is bumped in the same transaction as the
-- message insert, which is what keeps seq gapless per order.
CREATE TABLE orders (
    id           TEXT PRIMARY KEY,
    order_number TEXT UNIQUE,
    status       TEXT NOT NULL,
    last_seq     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

-- The customer and the agents of an order; position keeps the agents in the backend's order.
CREATE TABLE order_participants (
    order_id TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL,
    role     TEXT NOT NULL CHECK (role IN ('customer', 'agent')),
    position INTEGER NOT NULL,
    PRIMARY KEY (order_id, user_id)
);
CREATE INDEX order_participants_by_user ON order_participants(user_id);

-- attachments is a JSON array of attachment ids.
CREATE TABLE messages (
    id                TEXT PRIMARY KEY,
    order_id          TEXT NOT NULL REFERENCES orders(id),
    seq               INTEGER NOT NULL,
    sender_id         TEXT NOT NULL,
    sender_type       TEXT NOT NULL,
    body              TEXT NOT NULL,
    image_url         TEXT,
    attachments       TEXT NOT NULL DEFAULT '[]',
    client_message_id TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    UNIQUE (order_id, seq)
);
-- Idempotent send: one message per (order, sender, clientMessageId).
CREATE UNIQUE INDEX messages_client_id ON messages(order_id, sender_id, client_message_id)
    WHERE client_message_id IS NOT NULL;

-- A user has read every message of the order with seq <= last_read_seq. Only ever moves forward.
CREATE TABLE read_markers (
    order_id      TEXT NOT NULL REFERENCES orders(id),
    user_id       TEXT NOT NULL,
    last_read_seq INTEGER NOT NULL,
    read_at       INTEGER NOT NULL,
    PRIMARY KEY (order_id, user_id)
);
