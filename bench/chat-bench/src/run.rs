//! `run`: orders × participants connections chat; measures stored messages/s, deliveries/s,
//! end-to-end latency, ack latency, errors, and a final round of joins with history.
//!
//! Timeline: set up the orders; connect and join everyone (capped concurrency); everyone
//! starts sending at one instant; the first `--warmup` seconds are not measured, the next
//! `--duration` seconds are; then everyone stops sending and waits for its acks; after a
//! short grace for in-flight deliveries every connection joins its order again (history
//! exists now) and the join acks are timed; then everyone disconnects.
//!
//! A message counts in the window when it was *sent* inside it: its ack (stored messages/s)
//! and its deliveries to the other participants (deliveries/s, end-to-end latency) are
//! counted whenever they arrive. The send time travels in the message text.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use clap::Args;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use hdrhistogram::Histogram;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::MissedTickBehavior;

use crate::conn::{AckOutcome, Conn, EventSink, ack_result};
use crate::stats::{self, Counts, cell_ms, now_ns, r1, record_us, summary_ms};
use crate::{Env, setup};

#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Number of orders (chat rooms).
    #[arg(long, default_value_t = 50)]
    pub orders: usize,
    /// Connections per order: the customer and 1–4 agents.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(2..=5))]
    pub participants: u8,
    /// Messages per second each participant sends (0: closed loop, the next send as soon as
    /// the previous ack arrived).
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Measured seconds.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Seconds of load before the measurement starts.
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Length of each message's text in bytes (at least the ~30 of the timestamp).
    #[arg(long, default_value_t = 64)]
    pub message_size: usize,
    /// Joins in flight at once in the final join-with-history round.
    #[arg(long, default_value_t = 16)]
    pub join_concurrency: usize,
}

#[derive(Clone, Copy, PartialEq, PartialOrd, Debug)]
enum Phase {
    Wait,
    Send,
    Join,
    Close,
}

/// The measured window, in [`now_ns`] time.
static WINDOW: OnceLock<(u64, u64)> = OnceLock::new();

fn in_window(t: u64) -> bool {
    WINDOW.get().is_some_and(|&(a, b)| t >= a && t < b)
}

/// What one connection saw.
#[derive(Default)]
struct ConnStats {
    sent: u64,
    sent_window: u64,
    acks_ok: u64,
    acks_ok_window: u64,
    ack_hist: Option<Histogram<u64>>,
    errors: Counts,
    deliveries: u64,
    deliveries_window: u64,
    e2e_hist: Option<Histogram<u64>>,
    echoes: u64,
    events: Counts,
    join_hist: Option<Histogram<u64>>,
    join_history_msgs: u64,
    joins_ok: u64,
}

impl ConnStats {
    fn new() -> Self {
        Self {
            ack_hist: Some(stats::histogram()),
            e2e_hist: Some(stats::histogram()),
            join_hist: Some(stats::histogram()),
            ..Default::default()
        }
    }
    fn merge(&mut self, o: &ConnStats) {
        self.sent += o.sent;
        self.sent_window += o.sent_window;
        self.acks_ok += o.acks_ok;
        self.acks_ok_window += o.acks_ok_window;
        self.errors.merge(&o.errors);
        self.deliveries += o.deliveries;
        self.deliveries_window += o.deliveries_window;
        self.echoes += o.echoes;
        self.events.merge(&o.events);
        self.join_history_msgs += o.join_history_msgs;
        self.joins_ok += o.joins_ok;
        for (a, b) in [
            (&mut self.ack_hist, &o.ack_hist),
            (&mut self.e2e_hist, &o.e2e_hist),
            (&mut self.join_hist, &o.join_hist),
        ] {
            if let (Some(a), Some(b)) = (a.as_mut(), b.as_ref()) {
                let _ = a.add(b);
            }
        }
    }
}

/// Receives one connection's server events.
struct Sink {
    me: String,
    stats: Arc<Mutex<ConnStats>>,
}

#[derive(Deserialize)]
struct NewMessage {
    #[serde(rename = "senderId")]
    sender_id: String,
    message: String,
}

/// `bench <send time ns> xxxx…`
fn message_text(t: u64, size: usize) -> String {
    let mut s = format!("bench {t} ");
    while s.len() < size {
        s.push('x');
    }
    s
}

fn sent_at(text: &str) -> Option<u64> {
    text.strip_prefix("bench ")?.split(' ').next()?.parse().ok()
}

impl EventSink for Sink {
    fn event(&self, json: &str) {
        if json.starts_with(r#"["new-message","#) {
            let now = now_ns();
            let Ok((_, m)) = serde_json::from_str::<(String, NewMessage)>(json) else {
                self.stats.lock().unwrap().events.add("new-message?", 1);
                return;
            };
            let mut s = self.stats.lock().unwrap();
            if m.sender_id == self.me {
                s.echoes += 1;
                return;
            }
            let Some(t) = sent_at(&m.message) else {
                s.events.add("new-message(other)", 1);
                return;
            };
            s.deliveries += 1;
            if in_window(t) {
                s.deliveries_window += 1;
                record_us(s.e2e_hist.as_mut().unwrap(), now.saturating_sub(t) / 1000);
            }
        } else if json.starts_with(r#"["error","#) {
            let code = serde_json::from_str::<Value>(json)
                .ok()
                .and_then(|v| v.get(1)?.get("code")?.as_str().map(str::to_owned))
                .unwrap_or_else(|| "error".into());
            self.stats
                .lock()
                .unwrap()
                .errors
                .add(&format!("event:{code}"), 1);
        } else {
            let name = json
                .strip_prefix("[\"")
                .and_then(|r| r.split('"').next())
                .unwrap_or("?");
            self.stats.lock().unwrap().events.add(name, 1);
        }
    }
}

/// Shared by every participant task.
struct Ctx {
    args: RunArgs,
    target: crate::conn::Target,
    secret: Vec<u8>,
    naming: setup::Naming,
    sources: usize,
    nonce: String,
    ack_timeout: Duration,
    connect_sem: Semaphore,
    join_sem: Semaphore,
    total: usize,
    /// (send start, send end) as Instants, set before Phase::Send.
    schedule: OnceLock<(Instant, Instant)>,
}

enum Ready {
    Ok,
    Failed(String),
}

async fn participant(
    ctx: Arc<Ctx>,
    k: usize,
    ready: mpsc::UnboundedSender<Ready>,
    done: mpsc::UnboundedSender<()>,
    mut phase: watch::Receiver<Phase>,
) -> ConnStats {
    let p = ctx.args.participants as usize;
    let (order_i, part) = (k / p, k % p);
    let order = ctx.naming.order(order_i);
    let me = ctx.naming.user(order_i, part);
    let stats = Arc::new(Mutex::new(ConnStats::new()));
    let sink = Arc::new(Sink {
        me: me.clone(),
        stats: stats.clone(),
    });
    let valid = Duration::from_secs(3600) + Duration::from_secs_f64(ctx.args.duration * 2.0);
    let token = setup::token(&ctx.secret, &me, valid);

    // Connect and join, `connect_concurrency` at a time.
    let conn = {
        let _permit = ctx.connect_sem.acquire().await.expect("semaphore open");
        let conn =
            match Conn::connect(&ctx.target, setup::source(k, ctx.sources), &token, sink).await {
                Ok(c) => c,
                Err(e) => {
                    if k < 3 {
                        eprintln!("  connection {k} ({me}) failed: {} {}", e.code, e.detail);
                    }
                    let _ = ready.send(Ready::Failed(e.code));
                    return take(&stats);
                }
            };
        let joined = conn
            .emit_ack(
                "join-order-chat",
                &json!({ "orderId": order }),
                ctx.ack_timeout,
            )
            .await;
        match outcome_code(joined).map(|_| ()) {
            Ok(()) => conn,
            Err(code) => {
                if k < 3 {
                    eprintln!("  connection {k} ({me}) could not join {order}: {code}");
                }
                let _ = ready.send(Ready::Failed(format!("JOIN_{code}")));
                conn.close().await;
                return take(&stats);
            }
        }
    };
    let _ = ready.send(Ready::Ok);

    // Send.
    let _ = phase.wait_for(|p| *p >= Phase::Send).await;
    let (start, end) = *ctx.schedule.get().expect("schedule set before Send");
    send_loop(&ctx, k, &conn, &order, &stats, start, end).await;
    let _ = done.send(());

    // Join again, now with history.
    let _ = phase.wait_for(|p| *p >= Phase::Join).await;
    {
        let _permit = ctx.join_sem.acquire().await.expect("semaphore open");
        let t = Instant::now();
        let r = conn
            .emit_ack(
                "join-order-chat",
                &json!({ "orderId": order }),
                ctx.ack_timeout,
            )
            .await;
        let us = t.elapsed().as_micros() as u64;
        let mut s = stats.lock().unwrap();
        match outcome_code(r) {
            Ok(data) => {
                s.joins_ok += 1;
                record_us(s.join_hist.as_mut().unwrap(), us);
                s.join_history_msgs += data
                    .get("messages")
                    .and_then(Value::as_array)
                    .map_or(0, |m| m.len() as u64);
            }
            Err(code) => s.errors.add(&format!("join:{code}"), 1),
        }
    }
    let _ = done.send(());

    let _ = phase.wait_for(|p| *p >= Phase::Close).await;
    conn.close().await;
    take(&stats)
}

fn take(stats: &Arc<Mutex<ConnStats>>) -> ConnStats {
    std::mem::take(&mut *stats.lock().unwrap())
}

/// The ack's data, or an error code (the ack's, ACK_TIMEOUT or DISCONNECTED).
fn outcome_code(o: AckOutcome) -> Result<Value, String> {
    match o {
        AckOutcome::Reply(v) => ack_result(v),
        AckOutcome::Timeout => Err("ACK_TIMEOUT".into()),
        AckOutcome::Closed => Err("DISCONNECTED".into()),
    }
}

async fn send_loop(
    ctx: &Ctx,
    k: usize,
    conn: &Conn,
    order: &str,
    stats: &Mutex<ConnStats>,
    start: Instant,
    end: Instant,
) {
    let size = ctx.args.message_size;
    let mut n = 0u64;
    let mut send = || {
        let t = now_ns();
        let payload = json!({
            "orderId": order,
            "message": message_text(t, size),
            "clientMessageId": format!("{}-{k}-{n}", ctx.nonce),
        });
        n += 1;
        let win = in_window(t);
        {
            let mut s = stats.lock().unwrap();
            s.sent += 1;
            s.sent_window += u64::from(win);
        }
        let fut = conn.emit_ack("send-message", &payload, ctx.ack_timeout);
        async move { (t, win, fut.await) }
    };
    let record = |(t, win, outcome): (u64, bool, AckOutcome)| {
        let us = now_ns().saturating_sub(t) / 1000;
        let mut s = stats.lock().unwrap();
        match outcome_code(outcome) {
            Ok(_) => {
                s.acks_ok += 1;
                if win {
                    s.acks_ok_window += 1;
                    record_us(s.ack_hist.as_mut().unwrap(), us);
                }
            }
            Err(code) => s.errors.add(&code, 1),
        }
    };

    if ctx.args.rate <= 0.0 {
        // Closed loop: one message in flight per participant.
        tokio::time::sleep_until(start.into()).await;
        while Instant::now() < end && conn.is_open() {
            record(send().await);
        }
        return;
    }
    // Open loop at --rate, each participant's ticks offset so they do not all fire together.
    let period = Duration::from_secs_f64(1.0 / ctx.args.rate);
    let offset = period.mul_f64(k as f64 / ctx.total as f64);
    let mut ticker = tokio::time::interval_at((start + offset).into(), period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut inflight = FuturesUnordered::new();
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                if Instant::now() >= end || !conn.is_open() {
                    break;
                }
                inflight.push(send());
            }
            Some(r) = inflight.next(), if !inflight.is_empty() => record(r),
        }
    }
    while let Some(r) = inflight.next().await {
        record(r);
    }
}

/// Ok(whether the run was clean), Err when the setup failed.
pub async fn run(env: &Env, args: RunArgs) -> Result<bool, String> {
    let c = &env.common;
    let p = args.participants as usize;
    let total = args.orders * p;
    if args.message_size > 4000 {
        return Err("--message-size is at most 4000".into());
    }
    if total as u64 + 64 > env.nofile {
        return Err(format!(
            "{total} connections need more open files than the limit {} (ulimit -n)",
            env.nofile
        ));
    }
    let mode = if args.rate > 0.0 {
        format!("{} msg/s per participant", args.rate)
    } else {
        "closed loop".into()
    };
    eprintln!(
        "chat-bench run: target={} url={} {} orders x {p} participants = {total} connections, {mode}, {}s (+{}s warm-up), prefix {}",
        c.target, c.url, args.orders, args.duration, args.warmup, env.naming.prefix
    );
    if c.setup_orders {
        let t = Instant::now();
        setup::create_orders(
            env.addr,
            &env.host,
            &c.internal_key,
            &env.naming,
            args.orders,
            p,
            16,
        )
        .await?;
        eprintln!(
            "  {} orders created in {:.1}s",
            args.orders,
            t.elapsed().as_secs_f64()
        );
    }

    let ctx = Arc::new(Ctx {
        target: env.target(),
        secret: c.secret.as_bytes().to_vec(),
        naming: env.naming.clone(),
        sources: c.sources as usize,
        nonce: format!("n{}", now_ns() % 1_000_000_000),
        ack_timeout: env.ack_timeout(),
        connect_sem: Semaphore::new(c.connect_concurrency.max(1)),
        join_sem: Semaphore::new(args.join_concurrency.max(1)),
        total,
        schedule: OnceLock::new(),
        args: args.clone(),
    });
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let (phase_tx, phase_rx) = watch::channel(Phase::Wait);
    let t_connect = Instant::now();
    let tasks: Vec<_> = (0..total)
        .map(|k| {
            tokio::spawn(participant(
                ctx.clone(),
                k,
                ready_tx.clone(),
                done_tx.clone(),
                phase_rx.clone(),
            ))
        })
        .collect();
    drop((ready_tx, done_tx));
    let mut connected = 0usize;
    let mut connect_errors = Counts::default();
    for _ in 0..total {
        match ready_rx.recv().await {
            Some(Ready::Ok) => connected += 1,
            Some(Ready::Failed(code)) => connect_errors.add(&code, 1),
            None => break,
        }
    }
    let connect_s = t_connect.elapsed().as_secs_f64();
    eprintln!(
        "  {connected}/{total} connected and joined in {connect_s:.1}s{}",
        if connect_errors.0.is_empty() {
            String::new()
        } else {
            format!(" (failed: {})", connect_errors.line())
        }
    );
    if connected == 0 {
        let _ = phase_tx.send(Phase::Close);
        return Err(format!(
            "no connection could be set up ({})",
            connect_errors.line()
        ));
    }

    // Everyone starts at once.
    let start = Instant::now() + Duration::from_millis(200);
    let m_start = start + Duration::from_secs_f64(args.warmup);
    let m_end = m_start + Duration::from_secs_f64(args.duration);
    let to_ns =
        |i: Instant| now_ns() + i.saturating_duration_since(Instant::now()).as_nanos() as u64;
    let _ = WINDOW.set((to_ns(m_start), to_ns(m_end)));
    let _ = ctx.schedule.set((start, m_end));
    let _ = phase_tx.send(Phase::Send);

    tokio::time::sleep_until(m_start.into()).await;
    let cpu0 = c.server_pid.and_then(stats::cpu_s);
    let own0 = stats::own_cpu_s();
    tokio::time::sleep_until(m_end.into()).await;
    let cpu1 = c.server_pid.and_then(stats::cpu_s);
    let own1 = stats::own_cpu_s();
    let rss_end = c.server_pid.and_then(stats::rss_kb);
    for _ in 0..connected {
        done_rx.recv().await;
    }
    // In-flight deliveries of the last acked messages.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let _ = phase_tx.send(Phase::Join);
    for _ in 0..connected {
        done_rx.recv().await;
    }
    let _ = phase_tx.send(Phase::Close);
    let mut all = ConnStats::new();
    for t in tasks {
        if let Ok(s) = t.await {
            all.merge(&s);
        }
    }

    // Report.
    let d = args.duration;
    let stored_per_s = all.acks_ok_window as f64 / d;
    let deliveries_per_s = all.deliveries_window as f64 / d;
    // Every message acked in the window should reach the order's other connected participants;
    // with everyone connected that is (participants - 1) each.
    let expected = all.acks_ok_window * (p as u64 - 1);
    let ack = all.ack_hist.as_ref().unwrap();
    let e2e = all.e2e_hist.as_ref().unwrap();
    let join = all.join_hist.as_ref().unwrap();
    let avg_history = if all.joins_ok > 0 {
        all.join_history_msgs as f64 / all.joins_ok as f64
    } else {
        0.0
    };
    let server_cpu = match (cpu0, cpu1) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let errors_total = all.errors.total();

    println!(
        "chat-bench run  target={}  {} orders x {p} = {total} connections ({connected} connected in {connect_s:.1}s)  {mode}  {d}s measured",
        c.target, args.orders
    );
    println!(
        "  stored messages/s   {:>10.1}   ({} acked ok in the window, {} sent)",
        stored_per_s, all.acks_ok_window, all.sent_window
    );
    println!(
        "  deliveries/s        {:>10.1}   ({} of {} expected)",
        deliveries_per_s, all.deliveries_window, expected
    );
    println!("  end-to-end p50/p95/p99/max   {}", cell_ms(e2e));
    println!("  send->ack  p50/p95/p99/max   {}", cell_ms(ack));
    println!(
        "  join with history p50/p95/p99/max   {}   ({} joins, {:.0} messages each)",
        cell_ms(join),
        all.joins_ok,
        avg_history
    );
    println!(
        "  errors              {}   connect failures: {}",
        all.errors.line(),
        connect_errors.line()
    );
    if let Some(cpu) = server_cpu {
        println!(
            "  server cpu          {:.2}s in {d}s ({:.0}% of one core), {:.3} ms cpu per stored message, rss {} MB",
            cpu,
            cpu / d * 100.0,
            if all.acks_ok_window > 0 {
                cpu * 1000.0 / all.acks_ok_window as f64
            } else {
                0.0
            },
            rss_end.map_or("?".into(), |k| format!("{:.1}", k as f64 / 1024.0))
        );
    }
    println!(
        "  bench cpu           {:.2}s in {d}s ({:.0}% of one core)",
        own1 - own0,
        (own1 - own0) / d * 100.0
    );
    let result = json!({
        "mode": "run",
        "target": c.target,
        "url": c.url,
        "orders": args.orders,
        "participants": p,
        "connections": total,
        "connected": connected,
        "connect_s": r1(connect_s),
        "rate_per_participant": args.rate,
        "warmup_s": args.warmup,
        "duration_s": d,
        "message_size": args.message_size,
        "sent": all.sent_window,
        "acks_ok": all.acks_ok_window,
        "stored_per_s": r1(stored_per_s),
        "deliveries": all.deliveries_window,
        "expected_deliveries": expected,
        "deliveries_per_s": r1(deliveries_per_s),
        "e2e_ms": summary_ms(e2e),
        "ack_ms": summary_ms(ack),
        "join_ms": summary_ms(join),
        "join_history_avg": r1(avg_history),
        "errors": all.errors.json(),
        "errors_total": errors_total,
        "connect_errors": connect_errors.json(),
        "events": all.events.json(),
        "server_pid": c.server_pid,
        "server_cpu_s": server_cpu.map(|x| (x * 1000.0).round() / 1000.0),
        "server_rss_kb": rss_end,
        "bench_cpu_s": ((own1 - own0) * 1000.0).round() / 1000.0,
        "sources": c.sources,
        "prefix": env.naming.prefix,
    });
    println!("RESULT {result}");
    Ok(connected == total
        && errors_total == 0
        && all.acks_ok_window > 0
        && all.deliveries_window == expected
        && all.joins_ok == connected as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_send_time_travels_in_the_text() {
        let t = message_text(123_456_789, 64);
        assert_eq!(t.len(), 64);
        assert_eq!(sent_at(&t), Some(123_456_789));
        assert_eq!(sent_at(&message_text(5, 1)), Some(5));
        assert_eq!(sent_at("hello"), None);
    }
}
