//! The operation mix of `run --changes` (PROTOCOL.md §11): which operation a connection does
//! next, and what it remembers of its order to aim edits, reactions and replies at.
//!
//! Reactions toggle among three emoji only, and each user only ever toggles its own: a message
//! never carries more than 3 distinct emoji, nor a user more than 3 on one message, far below
//! the limits (20 and 10), so `LIMIT_EXCEEDED` cannot happen by design (it would be counted as
//! an error if it did). Because each user only touches its own reactions, its record of which
//! it has added is exact, and every toggle is a real change (never a no-op the server skips).

use std::collections::{HashMap, VecDeque};

/// What one operation of the load is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Send,
    Edit,
    AddReaction,
    RemoveReaction,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Send,
        Kind::Edit,
        Kind::AddReaction,
        Kind::RemoveReaction,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    /// The Socket.IO event that carries it.
    pub fn event(self) -> &'static str {
        match self {
            Kind::Send => "send-message",
            Kind::Edit => "edit-message",
            Kind::AddReaction => "add-reaction",
            Kind::RemoveReaction => "remove-reaction",
        }
    }
}

/// One operation, chosen.
#[derive(Debug, PartialEq)]
pub enum Op {
    Send {
        reply_to: Option<String>,
    },
    Edit {
        message_id: String,
    },
    React {
        message_id: String,
        emoji: &'static str,
        add: bool,
    },
}

impl Op {
    pub fn kind(&self) -> Kind {
        match self {
            Op::Send { .. } => Kind::Send,
            Op::Edit { .. } => Kind::Edit,
            Op::React { add: true, .. } => Kind::AddReaction,
            Op::React { add: false, .. } => Kind::RemoveReaction,
        }
    }
}

/// The emoji reactions toggle among (single code points: one grapheme each).
pub const EMOJI: [&str; 3] = ["👍", "🎉", "😂"];

/// Messages of the order remembered (the newest), enough for the 50 of a join's history.
const ORDER_MEMORY: usize = 64;
/// Reactions aim at one of the newest this many messages of the order.
const REACT_AMONG: usize = 16;
/// Edits aim at one of the connection's own newest this many messages.
const EDIT_AMONG: usize = 8;

/// What a connection knows of its order's recent messages, and its own reactions on them.
#[derive(Default)]
pub struct Recent {
    /// (seq, id), newest last (arrival order; [`Recent::last_by_seq`] sorts).
    order: VecDeque<(i64, String)>,
    /// The connection's own messages, newest last.
    mine: VecDeque<String>,
    /// Which of [`EMOJI`] this user has on a message (bit i = EMOJI[i]).
    reacted: HashMap<String, u8>,
}

impl Recent {
    /// A message of the order was stored (`mine`: sent by this connection).
    pub fn saw(&mut self, seq: i64, id: &str, mine: bool) {
        if self.order.iter().any(|(_, i)| i == id) {
            return;
        }
        self.order.push_back((seq, id.to_owned()));
        if self.order.len() > ORDER_MEMORY
            && let Some((_, old)) = self.order.pop_front()
        {
            self.reacted.remove(&old);
        }
        if mine {
            self.mine.push_back(id.to_owned());
            if self.mine.len() > EDIT_AMONG {
                self.mine.pop_front();
            }
        }
    }

    /// The ids of the newest `n` messages by seq, oldest first.
    pub fn last_by_seq(&self, n: usize) -> Vec<String> {
        let mut v: Vec<&(i64, String)> = self.order.iter().collect();
        v.sort_by_key(|(seq, _)| *seq);
        let skip = v.len().saturating_sub(n);
        v.into_iter().skip(skip).map(|(_, id)| id.clone()).collect()
    }

    /// The next operation: a change with `changes_pct` % probability (of which `edit_pct` %
    /// edits, the rest reaction toggles) when there is something to change, else a send.
    pub fn next_op(&mut self, rng: &mut Rng, changes_pct: u32, edit_pct: u32) -> Op {
        if changes_pct == 0 || rng.below(100) >= changes_pct {
            return Op::Send { reply_to: None };
        }
        if rng.below(100) < edit_pct {
            if self.mine.is_empty() {
                return Op::Send { reply_to: None };
            }
            let i = rng.below(self.mine.len() as u32) as usize;
            return Op::Edit {
                message_id: self.mine[self.mine.len() - 1 - i].clone(),
            };
        }
        // Half of the reactions take one of this user's back (when it has one), half toggle an
        // emoji on a recent message: new messages keep coming, so toggling alone would mostly
        // add.
        if rng.below(2) == 0
            && let Some((id, e)) = self.one_of_mine(rng)
        {
            return self.toggle(id, e);
        }
        let among = self.order.len().min(REACT_AMONG);
        if among == 0 {
            return Op::Send { reply_to: None };
        }
        let i = rng.below(among as u32) as usize;
        let id = self.order[self.order.len() - 1 - i].1.clone();
        let e = rng.below(EMOJI.len() as u32) as usize;
        self.toggle(id, e)
    }

    /// One of the reactions this user has on a remembered message, chosen by `rng`.
    fn one_of_mine(&self, rng: &mut Rng) -> Option<(String, usize)> {
        let with: Vec<(&String, u8)> = self
            .reacted
            .iter()
            .filter(|(_, b)| **b != 0)
            .map(|(id, b)| (id, *b))
            .collect();
        if with.is_empty() {
            return None;
        }
        let (id, bits) = with[rng.below(with.len() as u32) as usize];
        let set: Vec<usize> = (0..EMOJI.len()).filter(|e| bits & (1 << e) != 0).collect();
        Some((id.clone(), set[rng.below(set.len() as u32) as usize]))
    }

    /// Toggle this user's reaction `EMOJI[e]` on a message: recorded at once (the server handles
    /// one socket's events in order, so an open loop's next toggle sees this one's effect).
    pub fn toggle(&mut self, message_id: String, e: usize) -> Op {
        let bits = self.reacted.entry(message_id.clone()).or_default();
        let add = *bits & (1 << e) == 0;
        *bits ^= 1 << e;
        Op::React {
            message_id,
            emoji: EMOJI[e],
            add,
        }
    }

    /// Add `EMOJI[e]` unless this user already has it there (for seeding history).
    pub fn add(&mut self, message_id: String, e: usize) -> Option<Op> {
        let has = self
            .reacted
            .get(&message_id)
            .is_some_and(|b| b & (1 << e) != 0);
        (!has).then(|| self.toggle(message_id, e))
    }

    /// A message to reply to: any remembered one, chosen by `rng`.
    pub fn reply_target(&self, rng: &mut Rng) -> Option<String> {
        if self.order.is_empty() {
            return None;
        }
        let i = rng.below(self.order.len() as u32) as usize;
        Some(self.order[i].1.clone())
    }
}

/// xorshift64*: a connection's own cheap, reproducible choices.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Uniform-enough in `0..n` (n > 0).
    pub fn below(&mut self, n: u32) -> u32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        ((x >> 32) % u64::from(n)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_until_there_is_something_to_change() {
        let mut r = Recent::default();
        let mut rng = Rng::new(1);
        for _ in 0..50 {
            assert_eq!(r.next_op(&mut rng, 100, 50), Op::Send { reply_to: None });
        }
        assert_eq!(r.next_op(&mut rng, 0, 50).kind(), Kind::Send);
    }

    #[test]
    fn the_mix_follows_the_percentages() {
        let mut r = Recent::default();
        for s in 1..=20 {
            r.saw(s, &format!("m{s}"), s % 2 == 0);
        }
        let mut rng = Rng::new(7);
        let mut n = [0u32; 4];
        for _ in 0..10_000 {
            n[r.next_op(&mut rng, 30, 33).kind().index()] += 1;
        }
        let changes = n[1] + n[2] + n[3];
        assert!((2_700..3_300).contains(&changes), "{n:?}");
        assert!((800..1_200).contains(&n[1]), "edits {n:?}");
        // Adds and removes balance out: what is added is taken back.
        assert!(n[2] >= n[3] && n[2] - n[3] <= 20 * 3, "{n:?}");
    }

    #[test]
    fn toggles_stay_within_the_limits_and_edits_aim_at_own_messages() {
        let mut r = Recent::default();
        for s in 1..=100 {
            r.saw(s, &format!("m{s}"), s % 3 == 0);
        }
        let mut rng = Rng::new(3);
        for _ in 0..5_000 {
            match r.next_op(&mut rng, 100, 40) {
                Op::Edit { message_id } => {
                    let s: i64 = message_id[1..].parse().unwrap();
                    assert_eq!(s % 3, 0);
                    assert!(s > 100 - 3 * EDIT_AMONG as i64);
                }
                Op::React { message_id, .. } => {
                    let s: i64 = message_id[1..].parse().unwrap();
                    assert!(s > 100 - REACT_AMONG as i64);
                }
                Op::Send { .. } => panic!("there is always something to change"),
            }
        }
        assert!(r.reacted.values().all(|b| b.count_ones() <= 3));
        assert_eq!(r.last_by_seq(50).len(), 50);
        assert_eq!(r.last_by_seq(50)[49], "m100");
        assert!(r.add("fresh".into(), 0).is_some());
        assert!(r.add("fresh".into(), 0).is_none());
    }
}
