-- Attachments (PROTOCOL.md §12): the files participants upload, described by what their bytes
-- are. The bytes themselves live in the blob store (a folder or S3), under
-- attachments/<id>/original and attachments/<id>/thumbnail.
--
-- message_id is set when a send takes the upload (in one conditional UPDATE, so two messages
-- never share it). It is not a foreign key: the claim is written just before the message row,
-- and a claim whose message never got stored (a crash in between) counts as unattached.
-- removed_at is set when the file may no longer be served (its message was deleted, or it was
-- never attached within 24 h); the sweep then deletes its bytes, then the row.
CREATE TABLE attachments (
    id                 TEXT PRIMARY KEY,
    order_id           TEXT NOT NULL REFERENCES orders(id),
    uploader_id        TEXT NOT NULL,
    message_id         TEXT,
    name               TEXT NOT NULL,
    kind               TEXT NOT NULL CHECK (kind IN ('image', 'audio', 'file')),
    content_type       TEXT NOT NULL,
    size               INTEGER NOT NULL,
    sha256             TEXT NOT NULL,
    thumb_content_type TEXT,
    thumb_size         INTEGER,
    thumb_sha256       TEXT,
    width              INTEGER,
    height             INTEGER,
    duration_ms        INTEGER,
    created_at         INTEGER NOT NULL,
    removed_at         INTEGER
);
CREATE INDEX attachments_by_message ON attachments(message_id) WHERE message_id IS NOT NULL;
-- The sweep's two questions: which uploads are old and unattached, which are removed.
CREATE INDEX attachments_by_age ON attachments(created_at) WHERE removed_at IS NULL;
CREATE INDEX attachments_removed ON attachments(removed_at) WHERE removed_at IS NOT NULL;

-- Background work that must run on one node at a time (the attachment sweep): a node holds
-- the lease named `name` until `until` (Unix ms); taking it is one conditional upsert.
CREATE TABLE leases (
    name   TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until  INTEGER NOT NULL
);
