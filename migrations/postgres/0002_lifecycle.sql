-- The message lifecycle (PROTOCOL.md §10, §11): replies, edits, deletes, reactions, and the
-- change counter `rev` that catch-up reads them by.

-- last_rev is the order's change counter: every new message, edit, delete and reaction takes
-- the next one in the transaction that stores it.
ALTER TABLE orders ADD COLUMN last_rev BIGINT NOT NULL DEFAULT 0;

-- rev: the rev of the message's latest change. A deleted message keeps its row (a tombstone):
-- body, attachments and image_url are emptied, deleted_at/deleted_by say when and by whom.
ALTER TABLE messages ADD COLUMN rev BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN reply_to_id TEXT;
ALTER TABLE messages ADD COLUMN edited_at BIGINT;
ALTER TABLE messages ADD COLUMN deleted_at BIGINT;
ALTER TABLE messages ADD COLUMN deleted_by TEXT;

-- Each message stored before this migration was one change: its rev is its seq.
UPDATE messages SET rev = seq;
UPDATE orders SET last_rev = last_seq;

-- Catch-up: the messages of an order changed after a rev.
CREATE INDEX messages_by_rev ON messages(order_id, rev);

-- One row per user and emoji on a message; rev (of the change that added it) orders them.
CREATE TABLE reactions (
    message_id TEXT NOT NULL REFERENCES messages(id),
    emoji      TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    rev        BIGINT NOT NULL,
    PRIMARY KEY (message_id, emoji, user_id)
);

-- The audit trail: the state a message had before each edit or delete, and who changed it.
CREATE TABLE message_revisions (
    message_id  TEXT NOT NULL REFERENCES messages(id),
    rev         BIGINT NOT NULL,
    body        TEXT NOT NULL,
    attachments TEXT NOT NULL,
    edited_by   TEXT NOT NULL,
    edited_at   BIGINT NOT NULL,
    PRIMARY KEY (message_id, rev)
);
