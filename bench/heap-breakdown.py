#!/usr/bin/env python3
"""The heap at its peak (heaptrack's folded stacks, cost = peak bytes) per owner, per connection.

    python3 bench/heap-breakdown.py PEAK.folded CONNECTIONS

Each stack goes to the first owner whose marks it contains (frames as heaptrack_print names
them: function and file). Everything the server holds at the peak is divided by CONNECTIONS,
so the start-up heap (SQLite's cache, the runtime) is in "other" too, spread thin.
"""
import collections
import sys

# (owner, every mark must be in some frame of the stack)
OWNERS = [
    ("engineioxide: outgoing packet queue (tokio mpsc block of 32 slots)", ["create_session", "block.rs"]),
    ("engineioxide: socket (its Arc, other channels, maps)", ["create_session"]),
    ("engineioxide: the connection task (upgrade + WebSocket read loop)", ["bind_new_task", "dispatch_req"]),
    ("engineioxide: WebSocket writer and heartbeat tasks", ["bind_new_task", "(ws.rs)"]),
    ("order-chat: session-expiry task", ["bind_new_task", "(session.rs)"]),
    ("tasks, other", ["bind_new_task"]),
    ("tungstenite: read buffer (ws_read_buffer_size)", ["from_raw_socket"]),
    ("request head kept by engineioxide (copied out of hyper's buffer)", ["own_socket_head"]),
    ("order-chat: per-socket event handlers (boxed by socketioxide)", ["socketioxide::handler::message"]),
    ("socketioxide: rooms joined (user, order, presence)", ["join<> (socket.rs)"]),
    ("order-chat: connect (caller, socket state, extensions)", ["order_chat::socket::on_connect"]),
    ("order-chat: join (page cache, presence)", ["order_chat::socket::events::join"]),
    ("SQLite (page cache, statements; not per connection)", ["sqlite3"]),
]


def main():
    path, connections = sys.argv[1], int(sys.argv[2])
    totals = collections.Counter()
    for line in open(path, encoding="utf-8", errors="replace"):
        stack, _, cost = line.rstrip("\n").rpartition(" ")
        if not stack:
            continue
        frames = stack.split(";")
        owner = "other"
        for name, marks in OWNERS:
            if all(any(m in f for f in frames) for m in marks):
                owner = name
                break
        totals[owner] += int(cost)
    whole = sum(totals.values())
    print(f"heap at its peak: {whole / 1e6:.1f} MB = {whole / connections / 1024:.1f} KB per connection ({connections} connections)")
    print(f"{'KB/conn':>8}  {'share':>6}  owner")
    for name, cost in totals.most_common():
        print(f"{cost / connections / 1024:8.2f}  {100 * cost / whole:5.1f}%  {name}")


if __name__ == "__main__":
    main()
