//! The report of `run`: the table, then one `RESULT {json}` line.

use serde_json::{Map, Value, json};

use crate::Env;
use crate::mix::Kind;
use crate::run::{ConnStats, RunArgs};
use crate::stats::{self, Counts, cell_ms, r1, summary_ms};

/// What the run knew besides the connections' figures.
pub struct Setup {
    pub total: usize,
    pub connected: usize,
    pub connect_s: f64,
    pub connect_errors: Counts,
    pub mode: String,
    pub server_cpu: Option<f64>,
    pub rss_end: Option<u64>,
    pub bench_cpu: f64,
    /// Seconds the `--history-extras` phase took.
    pub extras_s: Option<f64>,
}

/// Print the report; true when the run was clean (what `--check` asks).
pub fn report(env: &Env, args: &RunArgs, all: &ConnStats, s: &Setup) -> bool {
    let c = &env.common;
    let p = args.participants as usize;
    let d = args.duration;
    let sends = &all.ops[Kind::Send.index()];
    let ops_ok: u64 = all.ops.iter().map(|o| o.ok).sum();
    let ops_issued: u64 = all.ops.iter().map(|o| o.issued).sum();
    let stored_per_s = sends.ok as f64 / d;
    let ops_per_s = ops_ok as f64 / d;
    let deliveries_per_s = all.deliveries_window as f64 / d;
    // Every message acked in the window should reach the order's other connected participants;
    // with everyone connected that is (participants - 1) each, with --offline-recipients none.
    let expected = sends.ok * (args.connected_per_order() as u64 - 1);
    let empty = stats::histogram();
    let hist = |k: Kind| all.ops[k.index()].hist.as_ref().unwrap_or(&empty);
    let e2e = all.e2e_hist.as_ref().unwrap_or(&empty);
    let join = all.join_hist.as_ref().unwrap_or(&empty);
    let per_join = |n: u64| {
        if all.joins_ok > 0 {
            n as f64 / all.joins_ok as f64
        } else {
            0.0
        }
    };
    let errors_total = all.errors.total();
    let (connected, total) = (s.connected, s.total);

    println!(
        "chat-bench run  target={}  {} orders x {p} = {total} connections ({connected} connected in {:.1}s)  {}  {d}s measured",
        c.target, args.orders, s.connect_s, s.mode
    );
    if args.changes > 0 {
        println!(
            "  operations/s        {ops_per_s:>10.1}   ({ops_ok} acked ok in the window, {ops_issued} issued)"
        );
        for k in Kind::ALL {
            let o = &all.ops[k.index()];
            println!(
                "    {:<16} {:>9.1}/s   ack p50/p95/p99/max   {}",
                k.event(),
                o.ok as f64 / d,
                cell_ms(hist(k))
            );
        }
    }
    println!(
        "  stored messages/s   {:>10.1}   ({} acked ok in the window, {} sent)",
        stored_per_s, sends.ok, sends.issued
    );
    println!(
        "  deliveries/s        {:>10.1}   ({} of {} expected)",
        deliveries_per_s, all.deliveries_window, expected
    );
    println!("  end-to-end p50/p95/p99/max   {}", cell_ms(e2e));
    println!(
        "  send->ack  p50/p95/p99/max   {}",
        cell_ms(hist(Kind::Send))
    );
    if args.attachments > 0 {
        let u = &all.uploads;
        println!(
            "  uploads/s           {:>10.1}   ({} of {} ok; upload p50/p95/p99/max   {})",
            u.ok as f64 / d,
            u.ok,
            u.issued,
            cell_ms(u.hist.as_ref().unwrap_or(&empty))
        );
        println!(
            "  with an attachment  {:>10.1}/s ({} stored, {:.1}% of the stored messages)",
            all.attached_ok as f64 / d,
            all.attached_ok,
            if sends.ok > 0 {
                all.attached_ok as f64 * 100.0 / sends.ok as f64
            } else {
                0.0
            }
        );
    }
    if let Some(x) = s.extras_s {
        println!(
            "  history extras      {} replies and reactions stored in {x:.1}s (not measured)",
            all.extras_ok
        );
    }
    println!(
        "  join with history p50/p95/p99/max   {}   ({} joins, {:.0} messages each: {:.1} replies, {:.1} with reactions)",
        cell_ms(join),
        all.joins_ok,
        per_join(all.join_history_msgs),
        per_join(all.join_replies),
        per_join(all.join_reacted),
    );
    println!(
        "  errors              {}   connect failures: {}",
        all.errors.line(),
        s.connect_errors.line()
    );
    let per = |n: u64| {
        s.server_cpu
            .filter(|_| n > 0)
            .map(|cpu| cpu * 1000.0 / n as f64)
    };
    if let Some(cpu) = s.server_cpu {
        println!(
            "  server cpu          {:.2}s in {d}s ({:.0}% of one core), {:.3} ms cpu per stored message, {:.3} per operation, rss {} MB",
            cpu,
            cpu / d * 100.0,
            per(sends.ok).unwrap_or(0.0),
            per(ops_ok).unwrap_or(0.0),
            s.rss_end
                .map_or("?".into(), |k| format!("{:.1}", k as f64 / 1024.0))
        );
    }
    println!(
        "  bench cpu           {:.2}s in {d}s ({:.0}% of one core)",
        s.bench_cpu,
        s.bench_cpu / d * 100.0
    );
    let mut ops = Map::new();
    for k in Kind::ALL {
        let o = &all.ops[k.index()];
        ops.insert(
            k.event().into(),
            json!({
                "issued": o.issued,
                "ok": o.ok,
                "per_s": r1(o.ok as f64 / d),
                "ack_ms": summary_ms(hist(k)),
            }),
        );
    }
    let result = json!({
        "mode": "run",
        "target": c.target,
        "url": c.url,
        "orders": args.orders,
        "participants": p,
        "connections": total,
        "connected": connected,
        "connect_s": r1(s.connect_s),
        "rate_per_participant": args.rate,
        "warmup_s": args.warmup,
        "duration_s": d,
        "message_size": args.message_size,
        "changes_pct": args.changes,
        "edit_share_pct": args.edit_share,
        "sent": sends.issued,
        "acks_ok": sends.ok,
        "stored_per_s": r1(stored_per_s),
        "ops_per_s": r1(ops_per_s),
        "ops": Value::Object(ops),
        "deliveries": all.deliveries_window,
        "expected_deliveries": expected,
        "deliveries_per_s": r1(deliveries_per_s),
        "e2e_ms": summary_ms(e2e),
        "ack_ms": summary_ms(hist(Kind::Send)),
        "attachments_pct": args.attachments,
        "uploads": {
            "issued": all.uploads.issued,
            "ok": all.uploads.ok,
            "per_s": r1(all.uploads.ok as f64 / d),
            "ms": summary_ms(all.uploads.hist.as_ref().unwrap_or(&empty)),
        },
        "attached_ok": all.attached_ok,
        "history_extras": args.history_extras,
        "extras_ok": all.extras_ok,
        "extras_s": s.extras_s.map(r1),
        "join_ms": summary_ms(join),
        "join_history_avg": r1(per_join(all.join_history_msgs)),
        "join_replies_avg": r1(per_join(all.join_replies)),
        "join_reacted_avg": r1(per_join(all.join_reacted)),
        "errors": all.errors.json(),
        "errors_total": errors_total,
        "connect_errors": s.connect_errors.json(),
        "events": all.events.json(),
        "server_pid": c.server_pid,
        "server_cpu_s": s.server_cpu.map(|x| (x * 1000.0).round() / 1000.0),
        "server_cpu_ms_per_op": per(ops_ok).map(|x| (x * 1000.0).round() / 1000.0),
        "server_rss_kb": s.rss_end,
        "bench_cpu_s": (s.bench_cpu * 1000.0).round() / 1000.0,
        "sources": c.sources,
        "prefix": env.naming.prefix,
    });
    println!("RESULT {result}");
    connected == total
        && errors_total == 0
        && sends.ok > 0
        && all.deliveries_window == expected
        && all.joins_ok == connected as u64
        && (!args.history_extras || all.extras_ok > 0)
}
