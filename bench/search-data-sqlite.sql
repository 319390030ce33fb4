-- Fills a migrated order-chat SQLite database (the server started once on it, then stopped)
-- with the search benchmark's data: 10,000 orders (customer c1..c500 on 20 orders each, agent
-- a0..a49), 1,000,000 messages (100 per order, seq/rev 1..100). Bodies from a small vocabulary:
-- "parcel" in every 10th message (10%), "zebragate" in every 10,000th (0.01%).
--   sqlite3 DB < bench/search-data-sqlite.sql
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
DROP TRIGGER messages_fts_insert;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
INSERT INTO orders (id, order_number, status, last_seq, last_rev, created_at, updated_at)
SELECT 'o' || i, 'N' || i, 'active', 100, 100, 1700000000000, 1700000000000 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
INSERT INTO order_participants (order_id, user_id, role, position)
SELECT 'o' || i, 'c' || ((i - 1) / 20 + 1), 'customer', 0 FROM n
UNION ALL SELECT 'o' || i, 'a' || (i % 50), 'agent', 1 FROM n;
INSERT INTO users (id, name, user_type, updated_at)
SELECT DISTINCT user_id, user_id, role, 1700000000000 FROM order_participants;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)
INSERT INTO messages (id, order_id, seq, rev, sender_id, sender_type, body, created_at, updated_at)
SELECT 'm' || i, 'o' || ((i - 1) / 100 + 1), (i - 1) % 100 + 1, (i - 1) % 100 + 1,
       CASE WHEN i % 2 = 0 THEN 'c' || ((i - 1) / 2000 + 1) ELSE 'a' || (((i - 1) / 100 + 1) % 50) END,
       CASE WHEN i % 2 = 0 THEN 'customer' ELSE 'agent' END,
       'hello ' ||
       CASE i % 7 WHEN 0 THEN 'the rider is at the gate' WHEN 1 THEN 'please call me when you arrive'
         WHEN 2 THEN 'I am waiting downstairs' WHEN 3 THEN 'the shop is closed today'
         WHEN 4 THEN 'can you bring two bags of rice' WHEN 5 THEN 'thanks, see you soon'
         ELSE 'how much is the delivery fee' END ||
       CASE WHEN i % 10 = 0 THEN ' parcel' ELSE '' END ||
       CASE WHEN i % 10000 = 0 THEN ' zebragate code 4711' ELSE '' END ||
       ' ' || (i % 997),
       1700000000000 + i * 1000, 1700000000000 + i * 1000
FROM n;
INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, body, order_id) VALUES (new.rowid, new.body, new.order_id);
END;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
