-- The chat's own copy of the users and orders the main backend tells us about,
-- the messages, and each user's read position per order. Times are Unix milliseconds
-- (BIGINT), as in the SQLite schema, so both backends store and return the same values.

-- directory = true when the main backend wrote the profile; token claims only fill rows with false.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    user_type     TEXT NOT NULL,
    display_image TEXT,
    blocked       BOOLEAN NOT NULL DEFAULT FALSE,
    directory     BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at    BIGINT NOT NULL
);

-- last_seq is the seq of the newest message. The insert locks this row (UPDATE), so senders on
-- every node take turns per order and seq stays gapless.
CREATE TABLE orders (
    id           TEXT PRIMARY KEY,
    order_number TEXT UNIQUE,
    status       TEXT NOT NULL,
    last_seq     BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE order_participants (
    order_id TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL,
    role     TEXT NOT NULL CHECK (role IN ('customer', 'agent')),
    position BIGINT NOT NULL,
    PRIMARY KEY (order_id, user_id)
);
CREATE INDEX order_participants_by_user ON order_participants(user_id);

CREATE TABLE messages (
    id                TEXT PRIMARY KEY,
    order_id          TEXT NOT NULL REFERENCES orders(id),
    seq               BIGINT NOT NULL,
    sender_id         TEXT NOT NULL,
    sender_type       TEXT NOT NULL,
    body              TEXT NOT NULL,
    image_url         TEXT,
    attachments       TEXT NOT NULL DEFAULT '[]',
    client_message_id TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    UNIQUE (order_id, seq)
);
CREATE UNIQUE INDEX messages_client_id ON messages(order_id, sender_id, client_message_id)
    WHERE client_message_id IS NOT NULL;

CREATE TABLE read_markers (
    order_id      TEXT NOT NULL REFERENCES orders(id),
    user_id       TEXT NOT NULL,
    last_read_seq BIGINT NOT NULL,
    read_at       BIGINT NOT NULL,
    PRIMARY KEY (order_id, user_id)
);
