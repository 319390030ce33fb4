-- Notifications (PROTOCOL.md §14): who is told about new messages, and the durable outbox of
-- webhook and Web Push deliveries.
--
-- notify_at: when the notifier should next look at this order (NULL: nothing pending). The
-- transaction that stores a message sets it to the message's time plus NOTIFY_DELAY (or to
-- now, with a webhook for message.* events) unless an earlier time is already set, so a due
-- notification is decided from rows that are on disk with the message. hook_rev, hook_seq: the
-- order's change stream up to this rev (and its messages up to this seq) have been turned into
-- message.* webhook events; what exists already is not announced.
ALTER TABLE orders ADD COLUMN notify_at BIGINT;
ALTER TABLE orders ADD COLUMN hook_rev BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN hook_seq BIGINT NOT NULL DEFAULT 0;
UPDATE orders SET hook_rev = last_rev, hook_seq = last_seq;
CREATE INDEX orders_notify_due ON orders(notify_at) WHERE notify_at IS NOT NULL;

-- Per participant and order: the highest seq they were notified of (or were reading when it
-- became due), so a message is decided about once.
CREATE TABLE notify_marks (
    order_id TEXT NOT NULL REFERENCES orders(id),
    user_id  TEXT NOT NULL,
    seq      BIGINT NOT NULL,
    PRIMARY KEY (order_id, user_id)
);

CREATE TABLE notification_mutes (
    order_id TEXT NOT NULL REFERENCES orders(id),
    user_id  TEXT NOT NULL,
    muted_at BIGINT NOT NULL,
    PRIMARY KEY (order_id, user_id)
);

-- A browser's PushSubscription; the endpoint identifies it (a browser that changes hands keeps
-- its endpoint, so the newest user wins).
CREATE TABLE push_subscriptions (
    endpoint   TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    p256dh     TEXT NOT NULL,
    auth       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX push_subscriptions_by_user ON push_subscriptions(user_id, created_at);

-- One delivery: a webhook event or one push to one subscription. id is stable across retries
-- (the webhook-id) and derived from what it is about, so deciding twice inserts once.
-- locked_until: a node is delivering it until then (a node that dies leaves it to others).
CREATE TABLE outbox (
    id           TEXT PRIMARY KEY,
    channel      TEXT NOT NULL CHECK (channel IN ('webhook', 'push')),
    target       TEXT,
    event_type   TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    next_at      BIGINT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    last_error   TEXT,
    done_at      BIGINT
);
CREATE INDEX outbox_due ON outbox(next_at) WHERE state = 'pending';
CREATE INDEX outbox_done ON outbox(done_at) WHERE state <> 'pending';

-- Values the server makes once and every node shares (the generated VAPID key).
CREATE TABLE server_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
