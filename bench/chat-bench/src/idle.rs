//! `idle`: open many authenticated connections, each a distinct user joined to its order, hold
//! them (answering pings) and read the server's resident memory before and after.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::json;
use tokio::sync::{Semaphore, mpsc, watch};

use crate::conn::{AckOutcome, Conn, Discard, ack_result};
use crate::stats::{self, Counts, cell_ms, r1, record_us, summary_ms};
use crate::{Env, setup};

#[derive(Debug, Args, Clone)]
pub struct IdleArgs {
    /// Connections to open (each a distinct user).
    #[arg(long, default_value_t = 1000)]
    pub connections: usize,
    /// Users per order (the customer and agents): orders = connections / this, rounded up.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub per_order: u8,
    /// Seconds to hold the connections once all are set up.
    #[arg(long, default_value_t = 30.0)]
    pub hold: f64,
}

enum Ready {
    Ok { connect_us: u64, join_us: u64 },
    Failed(String),
}

/// Ok(whether every connection was set up and held), Err when the setup failed.
pub async fn idle(env: &Env, args: IdleArgs) -> Result<bool, String> {
    let c = &env.common;
    let n = args.connections;
    let per = args.per_order as usize;
    let orders = n.div_ceil(per);
    if n as u64 + 64 > env.nofile {
        return Err(format!(
            "{n} connections need more open files than the limit {} (ulimit -n)",
            env.nofile
        ));
    }
    eprintln!(
        "chat-bench idle: target={} url={} {n} connections over {orders} orders, hold {}s, prefix {}",
        c.target, c.url, args.hold, env.naming.prefix
    );
    if c.setup_orders {
        setup::create_orders(
            env.addr,
            &env.host,
            &c.internal_key,
            &env.naming,
            orders,
            per,
            16,
        )
        .await?;
    }
    // Let the server settle after the order writes, then take the baseline.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = c.server_pid.and_then(stats::rss_kb);

    let target = env.target();
    let secret = c.secret.as_bytes().to_vec();
    let sem = Arc::new(Semaphore::new(c.connect_concurrency.max(1)));
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = watch::channel(false);
    let ack_timeout = env.ack_timeout();
    let valid = Duration::from_secs(3600) + Duration::from_secs_f64(args.hold * 2.0);
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|k| {
            let (target, secret, sem, ready, mut stop) = (
                target.clone(),
                secret.clone(),
                sem.clone(),
                ready_tx.clone(),
                stop_rx.clone(),
            );
            let (order, user) = (env.naming.order(k / per), env.naming.user(k / per, k % per));
            let source = setup::source(k, c.sources as usize);
            tokio::spawn(async move {
                let token = setup::token(&secret, &user, valid);
                let permit = sem.acquire().await.expect("semaphore open");
                let t = Instant::now();
                let conn = match Conn::connect(&target, source, &token, Arc::new(Discard)).await {
                    Ok(conn) => conn,
                    Err(e) => {
                        if k < 3 {
                            eprintln!("  connection {k} ({user}) failed: {} {}", e.code, e.detail);
                        }
                        let _ = ready.send(Ready::Failed(e.code));
                        return false;
                    }
                };
                let connect_us = t.elapsed().as_micros() as u64;
                let t = Instant::now();
                let joined = conn
                    .emit_ack("join-order-chat", &json!({ "orderId": order }), ack_timeout)
                    .await;
                let join_us = t.elapsed().as_micros() as u64;
                drop(permit);
                let r = match joined {
                    AckOutcome::Reply(v) => ack_result(v).map(|_| ()),
                    AckOutcome::Timeout => Err("ACK_TIMEOUT".into()),
                    AckOutcome::Closed => Err("DISCONNECTED".into()),
                };
                match r {
                    Ok(()) => {
                        let _ = ready.send(Ready::Ok {
                            connect_us,
                            join_us,
                        });
                    }
                    Err(code) => {
                        let _ = ready.send(Ready::Failed(format!("JOIN_{code}")));
                        conn.close().await;
                        return false;
                    }
                }
                let _ = stop.wait_for(|s| *s).await;
                let alive = conn.is_open();
                conn.close().await;
                alive
            })
        })
        .collect();
    drop(ready_tx);

    let mut connected = 0usize;
    let mut errors = Counts::default();
    let mut connect_h = stats::histogram();
    let mut join_h = stats::histogram();
    for i in 0..n {
        match ready_rx.recv().await {
            Some(Ready::Ok {
                connect_us,
                join_us,
            }) => {
                connected += 1;
                record_us(&mut connect_h, connect_us);
                record_us(&mut join_h, join_us);
            }
            Some(Ready::Failed(code)) => errors.add(&code, 1),
            None => break,
        }
        if (i + 1) % 1000 == 0 {
            eprintln!("  {}/{n} set up", i + 1);
        }
    }
    let setup_s = t0.elapsed().as_secs_f64();
    eprintln!("  {connected}/{n} connected and joined in {setup_s:.1}s");
    if connected == 0 {
        let _ = stop_tx.send(true);
        return Err(format!("no connection could be set up ({})", errors.line()));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_connected = c.server_pid.and_then(stats::rss_kb);
    let cpu0 = c.server_pid.and_then(stats::cpu_s);
    tokio::time::sleep(Duration::from_secs_f64(args.hold)).await;
    let rss_end = c.server_pid.and_then(stats::rss_kb);
    let cpu1 = c.server_pid.and_then(stats::cpu_s);
    let _ = stop_tx.send(true);
    let mut held = 0usize;
    for t in tasks {
        if let Ok(true) = t.await {
            held += 1;
        }
    }

    let kb_per_conn = match (rss_before, rss_end) {
        (Some(a), Some(b)) if held > 0 => Some(b.saturating_sub(a) as f64 / held as f64),
        _ => None,
    };
    let idle_cpu = match (cpu0, cpu1) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let mb = |k: Option<u64>| k.map_or("?".into(), |k| format!("{:.1} MB", k as f64 / 1024.0));
    println!(
        "chat-bench idle  target={}  {n} connections over {orders} orders, held {}s",
        c.target, args.hold
    );
    println!(
        "  connected          {connected}/{n} in {setup_s:.1}s ({:.0}/s); held to the end: {held}",
        connected as f64 / setup_s
    );
    println!("  connect p50/p95/p99/max   {}", cell_ms(&connect_h));
    println!("  first join p50/p95/p99/max   {}", cell_ms(&join_h));
    println!("  errors             {}", errors.line());
    if c.server_pid.is_some() {
        println!(
            "  server rss         before {}, connected {}, end {}  =>  {} KB per connection",
            mb(rss_before),
            mb(rss_connected),
            mb(rss_end),
            kb_per_conn.map_or("?".into(), |k| format!("{k:.1}"))
        );
        if let Some(cpu) = idle_cpu {
            println!("  server cpu idle    {cpu:.2}s over {}s of hold", args.hold);
        }
    }
    let result = json!({
        "mode": "idle",
        "target": c.target,
        "url": c.url,
        "connections": n,
        "orders": orders,
        "connected": connected,
        "held": held,
        "setup_s": r1(setup_s),
        "hold_s": args.hold,
        "connect_ms": summary_ms(&connect_h),
        "join_ms": summary_ms(&join_h),
        "errors": errors.json(),
        "server_pid": c.server_pid,
        "rss_before_kb": rss_before,
        "rss_connected_kb": rss_connected,
        "rss_end_kb": rss_end,
        "kb_per_connection": kb_per_conn.map(r1),
        "server_idle_cpu_s": idle_cpu.map(|x| (x * 1000.0).round() / 1000.0),
        "sources": c.sources,
        "prefix": env.naming.prefix,
    });
    println!("RESULT {result}");
    Ok(connected == n && held == n && errors.0.is_empty())
}
