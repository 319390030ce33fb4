#!/usr/bin/env python3
"""The media benchmarks of issue 11 against a running order-chat (loopback only).

  python3 bench/media.py fixtures DIR
      Deterministic test files (Pillow): photo-12mp.jpg (4000x3000, ~3.6 MB, the latency
      figure), photo-12mp-10mb.jpg (4000x3000, just under 10 MiB, the memory figure),
      photo-40mp-10mb.jpg (the most pixels the server accepts, just under 10 MiB),
      document-10mb.pdf (a PDF header on 10 MB of noise: no decode, stored as it is), and
      photo-small.jpg (640x480, the image chat-bench --attachments sends). Prints size and
      SHA-256 of each; a file already there is kept.
  python3 bench/media.py latency --url URL --file F [--runs 30 --warmup 3]
      Upload-to-thumbnail time: from the start of the upload POST to the last byte of the GET of
      the thumbnailUrl it answered, N sequential runs after warm-up; p50/p90/p99/max.
  python3 bench/media.py memory --url URL --pid PID --file F [--concurrency 10]
      Memory during C concurrent uploads of F: the server's VmRSS sampled every 5 ms from
      /proc/PID/status, the peak (and VmHWM) against the RSS before; each upload's time.

Each mode creates its own order through the internal API (JWT_ACCESS_SECRET and
INTERNAL_API_KEY from the environment, as bench/run.sh sets them) and prints one `RESULT {json}`
line. Standard library only, except Pillow for `fixtures`.
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import io
import json
import os
import random
import sys
import threading
import time
import urllib.parse

# --- HTTP ---------------------------------------------------------------------------------


def target(url):
    u = urllib.parse.urlsplit(url)
    host = u.hostname or ""
    if not (host == "localhost" or host.startswith("127.")):
        sys.exit(f"media.py: {url} is not a loopback address")
    return host, u.port or 80


def request(url, method, path, body=None, headers=None, timeout=120):
    """One request on its own connection: (status, headers dict, body bytes)."""
    host, port = target(url)
    c = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        c.close()


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def token(user_id, valid_s=3600):
    secret = os.environ["JWT_ACCESS_SECRET"].encode()
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {"user": {"id": user_id}, "tokenType": "access", "exp": int(time.time()) + valid_s}
    body = b64url(json.dumps(claims).encode())
    sig = b64url(hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{sig}"


def create_order(url, name):
    """An order with a customer and one agent; returns (order id, customer id)."""
    order, customer = f"{name}-o", f"{name}-c"
    body = json.dumps({
        "orderNumber": name.upper(),
        "status": "shopping",
        "customer": {"id": customer, "name": "Bench Customer"},
        "agents": [{"id": f"{name}-a", "name": "Bench Agent"}],
    })
    st, _, data = request(url, "PUT", f"/api/v0/internal/orders/{order}", body, {
        "Authorization": f"Bearer {os.environ['INTERNAL_API_KEY']}",
        "Content-Type": "application/json",
    })
    if st // 100 != 2:
        sys.exit(f"media.py: PUT order: HTTP {st} {data[:200]!r}")
    return order, customer


def multipart(name, content, ctype="application/octet-stream"):
    boundary = "bench" + hashlib.sha256(content[:4096]).hexdigest()[:24]
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: {ctype}\r\n\r\n").encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def upload(url, order, tok, name, body_and_type):
    body, ctype = body_and_type
    st, _, data = request(url, "POST", f"/api/v0/chat/orders/{order}/attachments", body, {
        "Authorization": f"Bearer {tok}",
        "Content-Type": ctype,
    })
    if st != 201:
        raise RuntimeError(f"upload {name}: HTTP {st} {data[:300]!r}")
    return json.loads(data)["data"]


# --- figures ------------------------------------------------------------------------------


def pct(xs, p):
    v = sorted(xs)
    if not v:
        return None
    # nearest rank
    k = max(0, min(len(v) - 1, int(round(p / 100 * len(v) + 0.5)) - 1))
    return v[k]


def summary_ms(xs):
    return {k: round(pct(xs, p) * 1000, 1) for k, p in
            (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))} | {"n": len(xs)}


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def cmd_latency(a):
    content = open(a.file, "rb").read()
    order, customer = create_order(a.url, f"lat{int(time.time() * 1000) % 10**9}")
    tok = token(customer)
    form = multipart(os.path.basename(a.file), content, "image/jpeg")
    times, uploads, thumbs, info = [], [], [], None
    load_before = load()
    for i in range(a.warmup + a.runs):
        t0 = time.perf_counter()
        att = upload(a.url, order, tok, a.file, form)
        t1 = time.perf_counter()
        st, h, thumb = request(a.url, "GET", att["thumbnailUrl"])
        t2 = time.perf_counter()
        if st != 200 or not thumb:
            raise RuntimeError(f"thumbnail: HTTP {st}")
        if i >= a.warmup:
            times.append(t2 - t0)
            uploads.append(t1 - t0)
            thumbs.append(t2 - t1)
        info = {"width": att.get("width"), "height": att.get("height"), "stored_bytes": att["size"],
                "thumbnail_bytes": len(thumb), "thumbnail_type": h.get("content-type")}
    r = {"mode": "latency", "file": os.path.basename(a.file), "file_bytes": len(content),
         "runs": a.runs, "warmup": a.warmup, "upload_to_thumbnail_ms": summary_ms(times),
         "upload_ms": summary_ms(uploads), "thumbnail_get_ms": summary_ms(thumbs),
         "load_before": load_before, "load_after": load()} | info
    s = r["upload_to_thumbnail_ms"]
    print(f"upload-to-thumbnail {r['file']} ({len(content)} bytes, {info['width']}x{info['height']}): "
          f"p50 {s['p50']} ms  p90 {s['p90']}  p99 {s['p99']}  max {s['max']}  ({a.runs} runs after "
          f"{a.warmup} warm-up; upload p50 {r['upload_ms']['p50']} ms, thumbnail GET p50 "
          f"{r['thumbnail_get_ms']['p50']} ms; load {load_before} -> {r['load_after']})")
    print("RESULT " + json.dumps(r))


def status_kb(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    return out


def cmd_memory(a):
    content = open(a.file, "rb").read()
    ctype = "application/pdf" if a.file.endswith(".pdf") else "image/jpeg"
    order, customer = create_order(a.url, f"mem{int(time.time() * 1000) % 10**9}")
    tok = token(customer)
    forms = [multipart(f"{i}-{os.path.basename(a.file)}", content, ctype) for i in range(a.concurrency)]
    before = status_kb(a.pid)
    samples, stop = [], threading.Event()

    def sampler():
        while not stop.is_set():
            try:
                samples.append(status_kb(a.pid)["VmRSS"])
            except (OSError, KeyError):
                return
            time.sleep(0.005)

    results, errors = [None] * a.concurrency, []
    gate = threading.Barrier(a.concurrency)

    def one(i):
        gate.wait()
        t0 = time.perf_counter()
        try:
            upload(a.url, order, tok, a.file, forms[i])
            results[i] = time.perf_counter() - t0
        except Exception as e:  # noqa: BLE001 - a failed upload is a result, reported
            errors.append(str(e)[:200])

    load_before = load()
    s = threading.Thread(target=sampler)
    s.start()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(a.concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    time.sleep(0.2)
    stop.set()
    s.join()
    after = status_kb(a.pid)
    peak = max(samples + [after["VmRSS"]])
    done = [x for x in results if x is not None]
    r = {"mode": "memory", "file": os.path.basename(a.file), "file_bytes": len(content),
         "concurrency": a.concurrency, "ok": len(done), "errors": errors,
         "rss_before_mb": round(before["VmRSS"] / 1024, 1), "rss_peak_mb": round(peak / 1024, 1),
         "hwm_mb": round(after["VmHWM"] / 1024, 1), "rss_after_mb": round(after["VmRSS"] / 1024, 1),
         "peak_over_before_mb": round((peak - before["VmRSS"]) / 1024, 1), "samples": len(samples),
         "wall_s": round(wall, 2), "upload_ms": summary_ms(done) if done else None,
         "load_before": load_before, "load_after": load()}
    print(f"{a.concurrency} concurrent uploads of {r['file']} ({len(content)} bytes): {len(done)} ok, "
          f"{len(errors)} failed; server VmRSS {r['rss_before_mb']} MB before, peak {r['rss_peak_mb']} MB "
          f"(VmHWM {r['hwm_mb']} MB, {r['samples']} samples), {r['rss_after_mb']} MB after; all done in "
          f"{r['wall_s']} s (load {load_before} -> {r['load_after']})")
    for e in errors[:3]:
        print("  error:", e)
    print("RESULT " + json.dumps(r))


# --- fixtures -----------------------------------------------------------------------------


def photo(w, h, seed, noise, shapes):
    """A photo-like picture: smooth colour fields, blurred shapes, sensor-like noise."""
    from PIL import Image, ImageDraw, ImageFilter
    rng = random.Random(seed)
    base = Image.frombytes("RGB", (40, 30), rng.randbytes(40 * 30 * 3)).resize((w, h), Image.BICUBIC)
    d = ImageDraw.Draw(base)
    for _ in range(shapes):
        x, y, r = rng.randrange(w), rng.randrange(h), rng.randrange(w // 400 + 2, w // 20 + 3)
        d.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
    base = base.filter(ImageFilter.GaussianBlur(3))
    return Image.blend(base, Image.frombytes("RGB", (w, h), rng.randbytes(w * h * 3)), noise)


def jpeg(img, quality):
    b = io.BytesIO()
    img.save(b, "JPEG", quality=quality)
    return b.getvalue()


def under(img, limit, qualities):
    """The best quality whose JPEG stays under `limit` bytes."""
    best = None
    for q in qualities:
        data = jpeg(img, q)
        if len(data) <= limit:
            best = data
        else:
            break
    if best is None:
        sys.exit("media.py: no quality fits")
    return best


def cmd_fixtures(a):
    os.makedirs(a.dir, exist_ok=True)
    limit = 10 * 1024 * 1024 - 64 * 1024  # under MAX_UPLOAD_BYTES' default, 10 MiB
    makers = {
        "photo-12mp.jpg": lambda: jpeg(photo(4000, 3000, 11, 0.12, 300), 90),
        "photo-12mp-10mb.jpg": lambda: under(photo(4000, 3000, 12, 0.35, 300), limit, range(80, 101)),
        "photo-40mp-10mb.jpg": lambda: under(photo(7300, 5470, 13, 0.12, 600), limit, range(60, 101, 2)),
        "document-10mb.pdf": lambda: b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + random.Random(14).randbytes(limit) + b"\n%%EOF\n",
        "photo-small.jpg": lambda: jpeg(photo(640, 480, 15, 0.08, 40), 85),
    }
    for name, make in makers.items():
        path = os.path.join(a.dir, name)
        if not os.path.exists(path):
            data = make()
            with open(path + ".tmp", "wb") as f:
                f.write(data)
            os.replace(path + ".tmp", path)
        data = open(path, "rb").read()
        print(f"{name}\t{len(data)}\t{hashlib.sha256(data).hexdigest()}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    f = sub.add_parser("fixtures")
    f.add_argument("dir")
    lt = sub.add_parser("latency")
    lt.add_argument("--url", required=True)
    lt.add_argument("--file", required=True)
    lt.add_argument("--runs", type=int, default=30)
    lt.add_argument("--warmup", type=int, default=3)
    m = sub.add_parser("memory")
    m.add_argument("--url", required=True)
    m.add_argument("--pid", type=int, required=True)
    m.add_argument("--file", required=True)
    m.add_argument("--concurrency", type=int, default=10)
    a = p.parse_args()
    {"fixtures": cmd_fixtures, "latency": cmd_latency, "memory": cmd_memory}[a.mode](a)


if __name__ == "__main__":
    main()
