-- Search newest first across every order (an admin's search, PROTOCOL.md §13): with this index
-- a common word is found by reading the newest messages until a page is full, instead of every
-- match in the database being fetched and sorted (measured in BENCHMARKS.md §7).
CREATE INDEX messages_newest ON messages (created_at, id);
