//! Clock, histograms, error counts, and what the process can read about a server process.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Instant;

use hdrhistogram::Histogram;
use serde_json::{Value, json};

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Monotonic nanoseconds since the process started (shared by every connection, so a send time
/// written into a message can be compared with the time another connection receives it).
pub fn now_ns() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Latencies in microseconds, 1 µs to 10 min, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid bounds")
}

pub fn record_us(h: &mut Histogram<u64>, us: u64) {
    h.saturating_record(us.max(1));
}

/// `{count, p50, p95, p99, max, mean}` in milliseconds.
pub fn summary_ms(h: &Histogram<u64>) -> Value {
    if h.is_empty() {
        return json!({ "count": 0 });
    }
    let ms = |us: u64| (us as f64 / 1000.0 * 1000.0).round() / 1000.0;
    json!({
        "count": h.len(),
        "p50": ms(h.value_at_quantile(0.50)),
        "p95": ms(h.value_at_quantile(0.95)),
        "p99": ms(h.value_at_quantile(0.99)),
        "max": ms(h.max()),
        "mean": (h.mean() / 1000.0 * 1000.0).round() / 1000.0,
    })
}

/// A `p50/p95/p99/max` cell for the table.
pub fn cell_ms(h: &Histogram<u64>) -> String {
    if h.is_empty() {
        return "-".into();
    }
    let f = |us: u64| format!("{:.1}", us as f64 / 1000.0);
    format!(
        "{} / {} / {} / {} ms",
        f(h.value_at_quantile(0.50)),
        f(h.value_at_quantile(0.95)),
        f(h.value_at_quantile(0.99)),
        f(h.max())
    )
}

/// Counts by code.
#[derive(Default, Debug, Clone)]
pub struct Counts(pub BTreeMap<String, u64>);

impl Counts {
    pub fn add(&mut self, code: &str, n: u64) {
        *self.0.entry(code.to_owned()).or_default() += n;
    }
    pub fn merge(&mut self, other: &Counts) {
        for (k, v) in &other.0 {
            self.add(k, *v);
        }
    }
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }
    pub fn json(&self) -> Value {
        json!(self.0)
    }
    pub fn line(&self) -> String {
        if self.0.is_empty() {
            return "none".into();
        }
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Resident memory of a process in KB (VmRSS), or None.
pub fn rss_kb(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU time (user + system) a process has used so far, in seconds, or None.
pub fn cpu_s(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces: fields resume after its closing paren.
    let after = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks())
}

/// CPU time this process has used so far, in seconds.
pub fn own_cpu_s() -> f64 {
    cpu_s(std::process::id()).unwrap_or(0.0)
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// Raise the soft open-file limit to the hard one (thousands of sockets need it).
pub fn raise_nofile() -> u64 {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain FFI calls with a valid pointer to a local.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < l.rlim_max {
            l.rlim_cur = l.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut l);
    }
    l.rlim_cur
}

/// Round to 1 decimal for the JSON line.
pub fn r1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_process() {
        assert!(rss_kb(std::process::id()).unwrap() > 0);
        assert!(cpu_s(std::process::id()).is_some());
    }

    #[test]
    fn summary_of_a_histogram() {
        let mut h = histogram();
        for us in 1..=1000 {
            record_us(&mut h, us * 1000);
        }
        let s = summary_ms(&h);
        assert_eq!(s["count"], 1000);
        assert!((s["p50"].as_f64().unwrap() - 500.0).abs() < 1.0);
        assert!((s["max"].as_f64().unwrap() - 1000.0).abs() < 1.0);
    }
}
