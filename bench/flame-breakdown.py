#!/usr/bin/env python3
"""Where a flame graph's CPU went: read collapsed stacks (`inferno-collapse-perf --all` output,
one `thread;frame;…;leaf WEIGHT` per line, kernel frames ending in `_[k]`; with perf's
cpu-clock event the weight is nanoseconds of CPU) and print

- an exclusive breakdown that sums to 100 %: each sample goes to one component. A kernel leaf
  goes to the system call it is under (socket sends and receives split by whose socket it is:
  PostgreSQL when sqlx is on the stack, WebSocket when tungstenite is), or to "kernel, no
  syscall" (interrupts, page faults); a malloc/free or memcpy leaf goes to allocation or memcpy;
  any other sample to the component of the nearest frame, from the leaf upwards, that belongs
  to a named crate (frames of core/alloc/std/hashbrown/futures… go to their caller);
- the same for allocation and memcpy alone, by the component that called them;
- inclusive shares: samples with at least one frame of the component anywhere on the stack;
- the most expensive frames by self time (the leaf frame of each sample).

A frame is judged by its own path, not by its generic parameters: `<A as B>::f` by A (and by B
when B is serde's Serialize/Deserialize: that is JSON work), `a::b::f<T>` by `a`.

    python3 bench/flame-breakdown.py [--unit ns|cycles|samples] [--top N] [--markdown] collapsed.txt
"""
import re
import sys
from collections import Counter

CRATES = {
    "JSON (serde_json, serde derives)": ["serde_json", "serde", "serde_core"],
    "sqlx-sqlite (worker, statements)": ["sqlx_sqlite", "libsqlite3_sys"],
    "sqlx core + PostgreSQL protocol": ["sqlx_postgres", "sqlx_core", "sqlx"],
    "Socket.IO (socketioxide)": ["socketioxide", "socketioxide_core", "socketioxide_parser_common"],
    "Engine.IO (engineioxide)": ["engineioxide", "engineioxide_core"],
    "WebSocket framing (tungstenite)": ["tungstenite", "tokio_tungstenite"],
    "HTTP (hyper, axum, tower)": ["hyper", "hyper_util", "axum", "axum_core", "tower", "tower_http", "http", "httparse"],
    "JWT, crypto, base64": ["jsonwebtoken", "ring", "sha2", "hmac", "base64", "p256", "digest"],
    "tracing": ["tracing", "tracing_core", "tracing_subscriber", "log"],
    "metrics (prometheus_client)": ["prometheus_client"],
    "rate limits (governor)": ["governor", "quanta"],
    "uuid, getrandom": ["uuid", "getrandom"],
    "tokio (scheduler, I/O driver, timers, sync)": ["tokio", "mio", "tokio_util"],
    "order-chat's own code": ["order_chat"],
}
CRATE_OF = {c: name for name, crates in CRATES.items() for c in crates}
SQLITE = "SQLite (C library)"
ALLOC_NAME = "allocation (malloc/free)"
MEMCPY_NAME = "memcpy/memset/memcmp (libc)"

ALLOC = re.compile(r"^(__libc_|__GI___libc_)?(malloc|free|calloc|realloc|cfree)$|^_int_(malloc|free|realloc)|"
                   r"^malloc_consolidate|^unlink_chunk|^sysmalloc|^tcache_|^__rust_(alloc|dealloc|realloc)|"
                   r"^__rdl_|^alloc_perturb|^arena_get")
MEMCPY = re.compile(r"^__(memcpy|memmove|memset|memcmp|memchr|strlen|memrchr|bcmp)|^(memcpy|memmove|memset|memcmp|bcmp)$")
SERDE_TRAIT = re.compile(r"^serde(_core)?::(ser|de)::")
SERDE_FN = re.compile(r"^(serialize|deserialize|visit_)")

SYSCALL = re.compile(r"^(__x64_sys_|__do_sys_|__se_sys_|__ia32_sys_)(\w+?)_\[k\]$")
SYSCALL_GROUP = {
    "send": "socket send", "recv": "socket receive", "getrandom": "getrandom",
    "write": "socket send", "writev": "socket send", "sendto": "socket send", "sendmsg": "socket send",
    "read": "socket receive", "readv": "socket receive", "recvfrom": "socket receive", "recvmsg": "socket receive",
    "epoll_wait": "epoll", "epoll_pwait": "epoll", "epoll_ctl": "epoll",
    "futex": "futex", "sched_yield": "sched_yield",
    "fsync": "fsync/fdatasync", "fdatasync": "fsync/fdatasync",
    "pwrite64": "file pread/pwrite", "pread64": "file pread/pwrite",
}
# The libc wrapper a syscall was made from, for kernel stacks that no longer show the
# __x64_sys_* frame (the thread is rescheduled on its way back to user space).
WRAPPER = re.compile(r"^(__libc_|__GI___libc_|__GI___|__)?(send|sendto|sendmsg|write|writev|recv|recvfrom|recvmsg|"
                     r"read|readv|epoll_wait|epoll_pwait|pwrite64|pread64|fsync|fdatasync|getrandom|syscall)$")


def strip_generics(s):
    out, depth = [], 0
    for ch in s:
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth = max(depth - 1, 0)
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def heads(f):
    """The paths a frame is judged by: [self type, trait] for `<A as B>::f`, else [path]."""
    f = f.strip()
    if f.startswith("<"):
        depth = 0
        for j, ch in enumerate(f):
            depth += ch == "<"
            depth -= ch == ">"
            if depth == 0:
                break
        inner = f[1:j]
        # split at the top-level " as "
        depth, cut = 0, -1
        for k, ch in enumerate(inner):
            depth += ch == "<"
            depth -= ch == ">"
            if depth == 0 and inner.startswith(" as ", k):
                cut = k
                break
        parts = [inner] if cut < 0 else [inner[:cut], inner[cut + 4:]]
        return [strip_generics(p).strip().removeprefix("impl ").lstrip("&*").removeprefix("mut ").removeprefix("dyn ")
                for p in parts]
    return [strip_generics(f).strip()]


_cache = {}


def frame_component(f):
    """The component a user-space frame belongs to, or None (generic, or no path)."""
    c = _cache.get(f)
    if c is not None or f in _cache:
        return c
    hs = heads(f)
    c = None
    if len(hs) == 2 and SERDE_TRAIT.match(hs[1]):
        c = "JSON (serde_json, serde derives)"
    else:
        for h in hs:
            if "::" in h:
                c = CRATE_OF.get(h.split("::", 1)[0])
                if c:
                    break
            elif h.startswith("sqlite3"):
                c = SQLITE
                break
            elif SERDE_FN.match(h) and "serde" in f:
                c = "JSON (serde_json, serde derives)"  # an inlined serde function (DWARF name)
                break
            elif h in ("drop", "drop_in_place", "drop_slow"):
                # an inlined drop (DWARF name without a path): the type dropped decides
                m = re.match(r"^\s*\w+<\[?(?:alloc::\w+::\w+<)*([a-z_][a-z0-9_]*)::", f.strip())
                c = CRATE_OF.get(m.group(1)) if m else None
                if c:
                    break
    _cache[f] = c
    return c


def is_c_name(f):
    return "::" not in f and "<" not in f and not f.startswith(("[", "_", "{"))


def socket_owner(frames):
    for f in frames:
        c = frame_component(f) if not f.endswith("_[k]") else None
        if c == "sqlx core + PostgreSQL protocol":
            return " (PostgreSQL)"
        if c == "WebSocket framing (tungstenite)":
            return " (WebSocket)"
    return " (other)"


def kernel_component(frames):
    """A kernel leaf: the syscall it is under. write/read on a file descriptor are counted as
    sockets; order-chat's file I/O is SQLite's pwrite/pread/fsync."""
    i = len(frames)
    name = None
    while i > 0 and frames[i - 1].endswith("_[k]"):
        i -= 1
        m = SYSCALL.match(frames[i])
        if m:
            name = m.group(2)
    if name is None and "do_syscall_64_[k]" in frames[i:] and i > 0:
        m = WRAPPER.match(frames[i - 1])
        name = {"syscall": "futex"}.get(m.group(2), m.group(2)) if m else "?"  # syscall(SYS_futex)
    if name is None:
        return "kernel, no syscall (irq, softirq, page faults)"
    group = SYSCALL_GROUP.get(name, "other syscalls")
    if group.startswith("socket"):
        group += socket_owner(frames[:i])
    return "kernel: " + group


def owner(frames, start):
    """The component of the nearest named frame at or above frames[start], walking rootwards."""
    first_sqlite = next((k for k, f in enumerate(frames) if f.startswith("sqlite3")), None)
    for k in range(start, -1, -1):
        f = frames[k]
        if f.endswith("_[k]") or ALLOC.search(f) or MEMCPY.search(f):
            continue
        c = frame_component(f)
        if c:
            return c
        if first_sqlite is not None and k > first_sqlite and is_c_name(f):
            return SQLITE  # sqlite3.c's static functions (btree, pager, vdbe, os_unix…)
    return "other / unattributed"


def component(frames):
    leaf = frames[-1]
    if leaf.endswith("_[k]"):
        return kernel_component(frames)
    if ALLOC.search(leaf):
        return ALLOC_NAME
    if MEMCPY.search(leaf):
        return MEMCPY_NAME
    return owner(frames, len(frames) - 1)


def main():
    args = sys.argv[1:]
    top = 10
    if "--top" in args:
        i = args.index("--top")
        top = int(args[i + 1])
        del args[i : i + 2]
    unit = "ns"
    if "--unit" in args:
        i = args.index("--unit")
        unit = args[i + 1]
        del args[i : i + 2]
    md = "--markdown" in args
    args = [a for a in args if a != "--markdown"]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    total = 0
    exclusive, inclusive, self_frames, threads = Counter(), Counter(), Counter(), Counter()
    alloc_by, memcpy_by = Counter(), Counter()
    rooted = kernel_any = sched_any = 0
    for line in open(args[0], encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if not line:
            continue
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = stack.split(";")
        thread, frames = frames[0], frames[1:]
        if not frames:
            continue
        total += n
        threads[re.sub(r"[-_]?\d+$", "", thread)] += n
        c = component(frames)
        exclusive[c] += n
        if c == ALLOC_NAME:
            alloc_by[owner(frames, len(frames) - 1)] += n
        elif c == MEMCPY_NAME:
            memcpy_by[owner(frames, len(frames) - 1)] += n
        names = {frame_component(f) for f in frames if not f.endswith("_[k]")}
        names.discard(None)
        if any(f.startswith("sqlite3") for f in frames):
            names.add(SQLITE)
        for name in names:
            inclusive[name] += n
        if any(f.endswith("_[k]") for f in frames):
            kernel_any += n
        if "schedule_[k]" in frames or "__schedule_[k]" in frames:
            sched_any += n
        self_frames[frames[-1].strip()] += n
        root = next((f for f in frames if not f.endswith("_[k]")), "")
        if root in ("_start", "clone3", "clone", "start_thread", "__clone3"):
            rooted += n
    if total == 0:
        print("no samples")
        return
    pct = lambda n: 100.0 * n / total

    def table(title, rows):
        print()
        if md:
            print(f"| {title} | share |\n|---|---|")
        else:
            print(title + ":")
        for name, n in rows:
            name = name.replace("|", "\\|")
            print(f"| {name} | {pct(n):.1f} % |" if md else f"  {pct(n):5.1f} %  {name}")

    sampled = f"{total / 1e9:.2f} s of CPU sampled (cpu-clock: weights in ns)" if unit == "ns" else f"{total} {unit} sampled"
    print(f"{sampled}; {pct(rooted):.1f} % of the stacks unwound to the thread's start")
    print("threads: " + ", ".join(f"{t} {pct(n):.1f} %" for t, n in threads.most_common(6)))
    table("exclusive: each sample counted once", exclusive.most_common())
    table("allocation, by the component that called malloc/free", alloc_by.most_common(8))
    table("memcpy/memset/memcmp, by the component that called it", memcpy_by.most_common(8))
    table("inclusive: a frame of it anywhere on the stack",
          inclusive.most_common() + [("any kernel frame", kernel_any),
                                     ("kernel scheduler (a context switch: schedule)", sched_any)])
    table(f"top {top} frames by self time",
          [(f"`{f}`" if md else f, n) for f, n in self_frames.most_common(top)])


if __name__ == "__main__":
    main()
