//! One connection's operations of `run`: the payload of each kind, and what its ack counts for.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{Value, json};

use crate::conn::{AckOutcome, Conn, ack_result};
use crate::mix::{Kind, Op, Recent};
use crate::run::ConnStats;
use crate::stats::{self, now_ns, record_us};
use crate::upload::Uploader;

/// One kind's figures for operations issued inside the measured window.
#[derive(Default)]
pub struct OpStats {
    pub issued: u64,
    pub ok: u64,
    /// Issue → ack, µs; made on the first ack (most connections of a send-only run never
    /// need the change kinds' histograms).
    pub hist: Option<Histogram<u64>>,
}

impl OpStats {
    pub fn merge(&mut self, o: &OpStats) {
        self.issued += o.issued;
        self.ok += o.ok;
        if let Some(b) = &o.hist {
            let _ = self.hist.get_or_insert_with(stats::histogram).add(b);
        }
    }
}

/// What an operation's ack is counted as.
#[derive(Clone, Copy, PartialEq)]
pub enum Stage {
    /// The load (measured when issued inside the window).
    Load,
    /// Seeding the history before the final joins (`--history-extras`): never measured.
    Extras,
}

/// What one connection's operations share.
pub struct Worker<'a> {
    pub conn: &'a Conn,
    pub order: &'a str,
    /// Unique per run and connection: `clientMessageId`s never repeat.
    pub client_prefix: String,
    pub message_size: usize,
    pub ack_timeout: Duration,
    pub stats: &'a Mutex<ConnStats>,
    /// Set when edits, reactions or replies need the order's recent messages.
    pub recent: Option<&'a Mutex<Recent>>,
    pub in_window: fn(u64) -> bool,
    pub n: u64,
    /// `--attachments`: where this connection's uploads go (None without the option).
    pub uploader: Option<Uploader<'a>>,
}

/// An operation on its way: its kind, when it was issued, whether inside the window.
pub struct Issued {
    kind: Kind,
    t: u64,
    win: bool,
    stage: Stage,
    /// A send carrying an uploaded attachment.
    attached: bool,
}

impl Worker<'_> {
    /// Emit the operation; the future resolves with its ack (it borrows nothing).
    pub fn issue(
        &mut self,
        op: Op,
        stage: Stage,
    ) -> impl Future<Output = (Issued, AckOutcome)> + Send + use<> {
        self.issue_with(op, stage, None)
    }

    /// Upload the `--attachments` image for the next send; its id, or None (no uploader, or
    /// the upload failed: counted as `upload:<code>`, and the text is then sent without it).
    /// The upload is timed and counted on its own (when it starts inside the window); the
    /// send's own figures (ack, end-to-end) start once the upload answered.
    pub async fn upload(&self, stage: Stage) -> Option<String> {
        let u = self.uploader.as_ref()?;
        let t = now_ns();
        let r = u.upload().await;
        let us = now_ns().saturating_sub(t) / 1000;
        let win = stage == Stage::Load && (self.in_window)(t);
        let mut st = self.stats.lock().unwrap();
        if win {
            st.uploads.issued += 1;
        }
        match r {
            Ok(id) => {
                if win {
                    st.uploads.ok += 1;
                    record_us(st.uploads.hist.get_or_insert_with(stats::histogram), us);
                }
                Some(id)
            }
            Err(code) => {
                st.errors.add(&format!("upload:{code}"), 1);
                None
            }
        }
    }

    /// [`Worker::issue`], a send carrying `attachment` when there is one.
    pub fn issue_with(
        &mut self,
        op: Op,
        stage: Stage,
        attachment: Option<String>,
    ) -> impl Future<Output = (Issued, AckOutcome)> + Send + use<> {
        let t = now_ns();
        let attached = attachment.is_some();
        let kind = op.kind();
        let payload = match op {
            Op::Send { reply_to } => {
                let mut p = json!({
                    "orderId": self.order,
                    "message": message_text(t, self.message_size),
                    "clientMessageId": format!("{}-{}", self.client_prefix, self.n),
                });
                self.n += 1;
                if let Some(r) = reply_to {
                    p["replyToId"] = Value::String(r);
                }
                if let Some(id) = attachment {
                    p["attachmentIds"] = json!([id]);
                }
                p
            }
            // A new text every time: the same text again would be a no-op the server skips.
            Op::Edit { message_id } => json!({
                "orderId": self.order,
                "messageId": message_id,
                "message": message_text(t, self.message_size),
            }),
            Op::React {
                message_id, emoji, ..
            } => json!({ "orderId": self.order, "messageId": message_id, "emoji": emoji }),
        };
        let win = stage == Stage::Load && (self.in_window)(t);
        if win {
            self.stats.lock().unwrap().ops[kind.index()].issued += 1;
        }
        let fut = self.conn.emit_ack(kind.event(), &payload, self.ack_timeout);
        async move {
            (
                Issued {
                    kind,
                    t,
                    win,
                    stage,
                    attached,
                },
                fut.await,
            )
        }
    }

    /// Count the ack; a stored message of its own is remembered. True when it succeeded.
    pub fn record(&self, (issued, outcome): (Issued, AckOutcome)) -> bool {
        let us = now_ns().saturating_sub(issued.t) / 1000;
        let kind = issued.kind;
        match outcome_code(outcome) {
            Ok(data) => {
                if kind == Kind::Send
                    && let Some(recent) = self.recent
                    && let (Some(seq), Some(id)) = (
                        data.get("seq").and_then(Value::as_i64),
                        data.get("id").and_then(Value::as_str),
                    )
                {
                    recent.lock().unwrap().saw(seq, id, true);
                }
                if issued.win {
                    let mut st = self.stats.lock().unwrap();
                    let s = &mut st.ops[kind.index()];
                    s.ok += 1;
                    record_us(s.hist.get_or_insert_with(stats::histogram), us);
                    if issued.attached {
                        st.attached_ok += 1;
                    }
                }
                true
            }
            Err(code) => {
                // Sends keep the bare code (as before the mix existed); the others say which.
                let key = match (issued.stage, kind) {
                    (Stage::Load, Kind::Send) => code,
                    (Stage::Load, k) => format!("{}:{code}", k.event()),
                    (Stage::Extras, k) => format!("extras:{}:{code}", k.event()),
                };
                self.stats.lock().unwrap().errors.add(&key, 1);
                false
            }
        }
    }
}

/// The ack's data, or an error code (the ack's, ACK_TIMEOUT or DISCONNECTED).
pub fn outcome_code(o: AckOutcome) -> Result<Value, String> {
    match o {
        AckOutcome::Reply(v) => ack_result(v),
        AckOutcome::Timeout => Err("ACK_TIMEOUT".into()),
        AckOutcome::Closed => Err("DISCONNECTED".into()),
    }
}

/// `bench <send time ns> xxxx…`
pub fn message_text(t: u64, size: usize) -> String {
    let mut s = format!("bench {t} ");
    while s.len() < size {
        s.push('x');
    }
    s
}

pub fn sent_at(text: &str) -> Option<u64> {
    text.strip_prefix("bench ")?.split(' ').next()?.parse().ok()
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
