-- Search within the caller's orders without reading every match (PROTOCOL.md §13, §9).
--
-- The FTS5 index gets the message's order id as a second column, so a customer's search is
-- `body:(words) AND order_id:("o1" OR "o2" …)`: FTS5 intersects the two lists itself, newest
-- first (rowid descending), and stops at the page size, instead of reading every message of the
-- whole database that has a common word and keeping the caller's. The same external content
-- (messages: both columns exist there) and tokenizer as 0003; ids are split into words by it,
-- which is only a pre-filter: the query checks the order id exactly too.
DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_update;
DROP TRIGGER messages_fts_delete;
DROP TABLE messages_fts;

CREATE VIRTUAL TABLE messages_fts USING fts5(
    body,
    order_id,
    content = 'messages',
    content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);

INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, body, order_id) VALUES (new.rowid, new.body, new.order_id);
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, body, order_id)
        VALUES ('delete', old.rowid, old.body, old.order_id);
    INSERT INTO messages_fts(rowid, body, order_id) VALUES (new.rowid, new.body, new.order_id);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, body, order_id)
        VALUES ('delete', old.rowid, old.body, old.order_id);
END;
