-- Message search (PROTOCOL.md §13): an FTS5 index over the messages' text.
--
-- External content (the text lives once, in messages); unicode61 with diacritics removed, so
-- "cafe" finds "Café"; the queries add `*` for word prefixes. The triggers keep the index in
-- the transaction of every insert, edit and delete (the group-commit writer's included); a
-- tombstone's text is '' and so leaves the index. The 'delete' command must be given exactly
-- the old values, which the triggers do.
CREATE VIRTUAL TABLE messages_fts USING fts5(
    body,
    content = 'messages',
    content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);

-- Messages stored before this migration get indexed too.
INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, body) VALUES (new.rowid, new.body);
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
    INSERT INTO messages_fts(rowid, body) VALUES (new.rowid, new.body);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
END;

-- Newest first within a user's orders.
CREATE INDEX messages_by_time ON messages(order_id, created_at);
