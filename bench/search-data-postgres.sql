-- The PostgreSQL twin of bench/search-data-sqlite.sql (same orders, participants, messages and
-- bodies), for a database the server has migrated once:
--   psql "$DATABASE_URL" -f bench/search-data-postgres.sql
-- The generated tsvector column and the GIN index are filled as the rows go in.
SET synchronous_commit = off;
INSERT INTO orders (id, order_number, status, last_seq, last_rev, created_at, updated_at)
SELECT 'o' || i, 'N' || i, 'active', 100, 100, 1700000000000, 1700000000000
FROM generate_series(1, 10000) i;
INSERT INTO order_participants (order_id, user_id, role, position)
SELECT 'o' || i, 'c' || ((i - 1) / 20 + 1), 'customer', 0 FROM generate_series(1, 10000) i
UNION ALL SELECT 'o' || i, 'a' || (i % 50), 'agent', 1 FROM generate_series(1, 10000) i;
INSERT INTO users (id, name, user_type, updated_at)
SELECT DISTINCT user_id, user_id, role, 1700000000000 FROM order_participants;
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
       1700000000000 + i::bigint * 1000, 1700000000000 + i::bigint * 1000
FROM generate_series(1, 1000000) i;
ANALYZE;
