# The index's cost on inserts at the SQL level (SQLite), when the server cannot be run:
#   python3 bench/search-insert-cost.py WITH.db WITHOUT.db   (WITHOUT: the messages_fts_* triggers dropped)
# 20,000 messages in transactions of 50 (like the group-commit writer), synchronous=FULL, WAL,
# into order o1..o10000 after the seeded rows; alternating runs, best of 2 each.
import sqlite3, sys, time
def run(path, base):
    c = sqlite3.connect(path, isolation_level=None)
    c.execute('PRAGMA journal_mode=WAL'); c.execute('PRAGMA synchronous=FULL')
    t = time.perf_counter()
    for b in range(400):
        c.execute('BEGIN')
        c.executemany("INSERT INTO messages (id, order_id, seq, rev, sender_id, sender_type, body, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
            [(f'x{base}-{b}-{k}', f'o{(b*50+k)%10000+1}', 1000+base*1000+b*50+k, 1000+base*1000+b*50+k, 'c1', 'customer',
              f'hello the rider is at the gate parcel {b} {k}', 1800000000000, 1800000000000) for k in range(50)])
        c.execute('COMMIT')
    return 20000 / (time.perf_counter() - t)
res = {}
for r in range(2):
    for p in sys.argv[1:3]:
        res.setdefault(p, []).append(run(p, r * 100 + len(res)))
for p, v in res.items(): print(f'{p}: {max(v):.0f} inserts/s (runs: {", ".join(f"{x:.0f}" for x in v)})')
