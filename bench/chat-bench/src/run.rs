//! `run`: orders × participants connections chat; measures stored messages/s, deliveries/s,
//! end-to-end latency, ack latency, errors, and a final round of joins with history. With
//! `--changes N`, N % of the operations are edits and reaction toggles instead of sends
//! ([`crate::mix`]), each kind counted and timed on its own.
//!
//! Timeline: set up the orders; connect and join everyone (capped concurrency); everyone
//! starts at one instant; the first `--warmup` seconds are not measured, the next
//! `--duration` seconds are; then everyone stops and waits for its acks; after a short grace
//! for in-flight deliveries, with `--history-extras`, the history is given replies and
//! reactions (not measured); then every connection joins its order again (history exists
//! now) and the join acks are timed; then everyone disconnects.
//!
//! An operation counts in the window when it was *issued* inside it: its ack (operations/s,
//! stored messages/s) and a message's deliveries to the other participants (deliveries/s,
//! end-to-end latency) are counted whenever they arrive. The send time travels in the text.

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

use crate::conn::{Conn, EventSink};
use crate::mix::{EMOJI, Op, Recent, Rng};
use crate::ops::{OpStats, Stage, Worker, outcome_code, sent_at};
use crate::stats::{self, Counts, now_ns, record_us};
use crate::upload::{self, Uploader};
use crate::{Env, report, setup};

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
    /// Percentage of each connection's operations that change a message instead of sending
    /// one: reaction toggles on the order's recent messages and edits of the connection's own
    /// recent messages (0: send-only).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub changes: u32,
    /// Percentage of those changes that are edits; the rest add or remove a reaction.
    #[arg(long, default_value_t = 33, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub edit_share: u32,
    /// Before the final join round (not measured), give each order's history replies and
    /// reactions: about 16 replies to earlier messages, then every participant adds one
    /// reaction to every other one of the last 50 messages.
    #[arg(long)]
    pub history_extras: bool,
    /// Seconds between the last write (the load's acks, or the history extras) and the final
    /// join round: in-flight deliveries arrive, and the server's writer settles.
    #[arg(long, default_value_t = 0.5)]
    pub join_pause: f64,
    /// Percentage of each connection's sends that first upload an image through REST (`POST
    /// /api/v0/chat/orders/{id}/attachments`, the connection's bearer token) and then send with
    /// its id in `attachmentIds` (0: text only). With `--rate`, the upload is awaited before
    /// that tick's send.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub attachments: u32,
    /// The file `--attachments` uploads (default: a built-in 640×480 JPEG of 67 KB).
    #[arg(long)]
    pub attachment_file: Option<std::path::PathBuf>,
    /// Connect only each order's customer: its agents are participants who never connect, so
    /// every message has offline recipients (what notifications are for; with the server's
    /// WEBHOOK_URL and NOTIFY_DELAY=0 each message becomes outbox rows).
    #[arg(long)]
    pub offline_recipients: bool,
}

impl RunArgs {
    /// Connections per order.
    pub fn connected_per_order(&self) -> usize {
        if self.offline_recipients {
            1
        } else {
            self.participants as usize
        }
    }
}

/// Replies each order gets from `--history-extras` (a third of a 50-message page).
const EXTRA_REPLIES_PER_ORDER: usize = 16;
/// The page a join without `limit` returns (PROTOCOL.md §3).
const JOIN_PAGE: usize = 50;

#[derive(Clone, Copy, PartialEq, PartialOrd, Debug)]
enum Phase {
    Wait,
    Send,
    /// `--history-extras`: replies, then reactions.
    Replies,
    Reactions,
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
pub(crate) struct ConnStats {
    /// By [`crate::mix::Kind::index`], for operations issued in the window.
    pub(crate) ops: [OpStats; 4],
    pub(crate) errors: Counts,
    /// `--history-extras` operations that succeeded.
    pub(crate) extras_ok: u64,
    pub(crate) deliveries: u64,
    pub(crate) deliveries_window: u64,
    pub(crate) e2e_hist: Option<Histogram<u64>>,
    pub(crate) echoes: u64,
    pub(crate) events: Counts,
    pub(crate) join_hist: Option<Histogram<u64>>,
    pub(crate) join_history_msgs: u64,
    /// Of those, the ones showing a reply preview, and the ones carrying reactions.
    pub(crate) join_replies: u64,
    pub(crate) join_reacted: u64,
    pub(crate) joins_ok: u64,
    /// `--attachments`: uploads started in the window (their time to the 201).
    pub(crate) uploads: OpStats,
    /// Stored messages of the window that carry an attachment.
    pub(crate) attached_ok: u64,
}

impl ConnStats {
    fn new() -> Self {
        Self {
            e2e_hist: Some(stats::histogram()),
            join_hist: Some(stats::histogram()),
            ..Default::default()
        }
    }
    fn merge(&mut self, o: &ConnStats) {
        for (a, b) in self.ops.iter_mut().zip(&o.ops) {
            a.merge(b);
        }
        self.errors.merge(&o.errors);
        self.extras_ok += o.extras_ok;
        self.deliveries += o.deliveries;
        self.deliveries_window += o.deliveries_window;
        self.echoes += o.echoes;
        self.events.merge(&o.events);
        self.join_history_msgs += o.join_history_msgs;
        self.join_replies += o.join_replies;
        self.join_reacted += o.join_reacted;
        self.joins_ok += o.joins_ok;
        self.uploads.merge(&o.uploads);
        self.attached_ok += o.attached_ok;
        for (a, b) in [
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
    /// The order's messages, remembered when the mix or the history extras need them.
    recent: Option<Arc<Mutex<Recent>>>,
}

#[derive(Deserialize)]
struct NewMessage {
    id: String,
    seq: i64,
    #[serde(rename = "senderId")]
    sender_id: String,
    message: String,
}

impl EventSink for Sink {
    fn event(&self, json: &str) {
        if json.starts_with(r#"["new-message","#) {
            let now = now_ns();
            let Ok((_, m)) = serde_json::from_str::<(String, NewMessage)>(json) else {
                self.stats.lock().unwrap().events.add("new-message?", 1);
                return;
            };
            if m.sender_id != self.me
                && let Some(recent) = &self.recent
            {
                recent.lock().unwrap().saw(m.seq, &m.id, false);
            }
            let mut s = self.stats.lock().unwrap();
            if m.sender_id == self.me {
                // Its own messages are remembered from their acks.
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
    /// `--attachments`: the multipart body of each upload.
    upload_body: Vec<u8>,
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
    let p = ctx.args.connected_per_order();
    let (order_i, part) = (k / p, k % p);
    let order = ctx.naming.order(order_i);
    let me = ctx.naming.user(order_i, part);
    let stats = Arc::new(Mutex::new(ConnStats::new()));
    let tracks = ctx.args.changes > 0 || ctx.args.history_extras;
    let recent = tracks.then(|| Arc::new(Mutex::new(Recent::default())));
    let sink = Arc::new(Sink {
        me: me.clone(),
        stats: stats.clone(),
        recent: recent.clone(),
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
    let mut worker = Worker {
        conn: &conn,
        order: &order,
        client_prefix: format!("{}-{k}", ctx.nonce),
        message_size: ctx.args.message_size,
        ack_timeout: ctx.ack_timeout,
        stats: &stats,
        recent: recent.as_deref(),
        in_window,
        n: 0,
        uploader: (ctx.args.attachments > 0).then(|| Uploader {
            addr: ctx.target.addr,
            source: setup::source(k, ctx.sources),
            host: &ctx.target.host_header,
            token: &token,
            order: &order,
            body: &ctx.upload_body,
            timeout: ctx.ack_timeout,
        }),
    };
    let mut rng = Rng::new(k as u64 + 1);

    // The load.
    let _ = phase.wait_for(|p| *p >= Phase::Send).await;
    let (start, end) = *ctx.schedule.get().expect("schedule set before Send");
    load_loop(&ctx, k, &mut worker, &mut rng, start, end).await;
    let _ = done.send(());

    if ctx.args.history_extras {
        let _ = phase.wait_for(|p| *p >= Phase::Replies).await;
        for _ in 0..EXTRA_REPLIES_PER_ORDER.div_ceil(p) {
            let reply_to = recent
                .as_ref()
                .and_then(|r| r.lock().unwrap().reply_target(&mut rng));
            if !conn.is_open() {
                break;
            }
            let r = worker.issue(Op::Send { reply_to }, Stage::Extras).await;
            stats.lock().unwrap().extras_ok += u64::from(worker.record(r));
        }
        let _ = done.send(());
        let _ = phase.wait_for(|p| *p >= Phase::Reactions).await;
        let page = recent
            .as_ref()
            .map(|r| r.lock().unwrap().last_by_seq(JOIN_PAGE))
            .unwrap_or_default();
        for id in page.into_iter().step_by(2) {
            let op = recent
                .as_ref()
                .and_then(|r| r.lock().unwrap().add(id, part % EMOJI.len()));
            let Some(op) = op else { continue };
            if !conn.is_open() {
                break;
            }
            let r = worker.issue(op, Stage::Extras).await;
            stats.lock().unwrap().extras_ok += u64::from(worker.record(r));
        }
        let _ = done.send(());
    }

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
                let messages = data
                    .get("messages")
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                s.join_history_msgs += messages.len() as u64;
                s.join_replies += messages
                    .iter()
                    .filter(|m| m.get("replyTo").is_some())
                    .count() as u64;
                s.join_reacted += messages
                    .iter()
                    .filter(|m| {
                        m.get("reactions")
                            .and_then(Value::as_array)
                            .is_some_and(|r| !r.is_empty())
                    })
                    .count() as u64;
            }
            Err(code) => s.errors.add(&format!("join:{code}"), 1),
        }
    }
    let _ = done.send(());

    let _ = phase.wait_for(|p| *p >= Phase::Close).await;
    drop(worker);
    conn.close().await;
    take(&stats)
}

fn take(stats: &Arc<Mutex<ConnStats>>) -> ConnStats {
    std::mem::take(&mut *stats.lock().unwrap())
}

/// The load: sends, or the `--changes` mix, closed loop or at `--rate`.
async fn load_loop(
    ctx: &Ctx,
    k: usize,
    w: &mut Worker<'_>,
    rng: &mut Rng,
    start: Instant,
    end: Instant,
) {
    let (changes, edit_share) = (ctx.args.changes, ctx.args.edit_share);
    let attach_pct = ctx.args.attachments;
    // Only drawn when the option is on: without it the mix's choices are those of before.
    let attach = move |op: &Op, rng: &mut Rng| {
        attach_pct > 0 && matches!(op, Op::Send { .. }) && rng.below(100) < attach_pct
    };
    let recent = w.recent;
    let next = move |rng: &mut Rng| match recent {
        Some(r) => r.lock().unwrap().next_op(rng, changes, edit_share),
        None => Op::Send { reply_to: None },
    };

    if ctx.args.rate <= 0.0 {
        // Closed loop: one operation in flight per participant.
        tokio::time::sleep_until(start.into()).await;
        while Instant::now() < end && w.conn.is_open() {
            let op = next(rng);
            let attachment = match attach(&op, rng) {
                true => w.upload(Stage::Load).await,
                false => None,
            };
            let r = w.issue_with(op, Stage::Load, attachment).await;
            w.record(r);
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
                if Instant::now() >= end || !w.conn.is_open() {
                    break;
                }
                let op = next(rng);
                let attachment = match attach(&op, rng) {
                    true => w.upload(Stage::Load).await,
                    false => None,
                };
                inflight.push(w.issue_with(op, Stage::Load, attachment));
            }
            Some(r) = inflight.next(), if !inflight.is_empty() => {
                w.record(r);
            }
        }
    }
    while let Some(r) = inflight.next().await {
        w.record(r);
    }
}

/// Ok(whether the run was clean), Err when the setup failed.
pub async fn run(env: &Env, args: RunArgs) -> Result<bool, String> {
    let c = &env.common;
    let p = args.participants as usize;
    let total = args.orders * args.connected_per_order();
    if args.message_size > 4000 {
        return Err("--message-size is at most 4000".into());
    }
    if total as u64 + 64 > env.nofile {
        return Err(format!(
            "{total} connections need more open files than the limit {} (ulimit -n)",
            env.nofile
        ));
    }
    let mut mode = if args.rate > 0.0 {
        format!("{} ops/s per participant", args.rate)
    } else {
        "closed loop".into()
    };
    if args.changes > 0 {
        mode += &format!(
            ", {}% changes ({}% of them edits)",
            args.changes, args.edit_share
        );
    }
    if args.history_extras {
        mode += ", history extras";
    }
    if args.offline_recipients {
        mode += ", only customers connected (recipients offline)";
    }
    let upload_body = if args.attachments > 0 {
        let (name, bytes) = match &args.attachment_file {
            Some(path) => (
                path.file_name()
                    .map_or("file".into(), |n| n.to_string_lossy().into_owned()),
                std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?,
            ),
            None => ("photo.jpg".into(), upload::DEFAULT_IMAGE.to_vec()),
        };
        mode += &format!(
            ", {}% of sends with an uploaded attachment ({name}, {} bytes)",
            args.attachments,
            bytes.len()
        );
        upload::form(&name, &bytes)
    } else {
        Vec::new()
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
        upload_body,
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
    let extras_s = if args.history_extras {
        // In-flight deliveries of the last acked messages: every participant should know the
        // same newest messages of its order.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let t = Instant::now();
        for next in [Phase::Replies, Phase::Reactions] {
            let _ = phase_tx.send(next);
            for _ in 0..connected {
                done_rx.recv().await;
            }
            // The replies' deliveries, so that every participant knows the same last page.
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let took = t.elapsed().as_secs_f64();
        eprintln!("  history extras stored in {took:.1}s");
        Some(took)
    } else {
        None
    };
    // In-flight deliveries of the last acked messages, before the joins.
    tokio::time::sleep(Duration::from_secs_f64(args.join_pause.max(0.0))).await;

    let _ = phase_tx.send(Phase::Join);
    let t_join = Instant::now();
    eprintln!(
        "  join round: {connected} joins, {} at a time",
        args.join_concurrency
    );
    for _ in 0..connected {
        done_rx.recv().await;
    }
    eprintln!(
        "  join round done in {:.1}s",
        t_join.elapsed().as_secs_f64()
    );
    let _ = phase_tx.send(Phase::Close);
    let mut all = ConnStats::new();
    for t in tasks {
        if let Ok(s) = t.await {
            all.merge(&s);
        }
    }

    let server_cpu = match (cpu0, cpu1) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    Ok(report::report(
        env,
        &args,
        &all,
        &report::Setup {
            total,
            connected,
            connect_s,
            connect_errors,
            mode,
            server_cpu,
            rss_end,
            bench_cpu: own1 - own0,
            extras_s,
        },
    ))
}
