//! A bridged MUC's messages on their way there, in memory: which wait, which are in flight and
//! which the MUC has. A message counts as in the MUC when the MUC reflects it (live, or in the
//! history it sends on a join) or, for one in flight when its connection was lost, when the
//! server acknowledged receiving it (XEP-0198). What a lost connection leaves unsure is sent
//! again only after the next join's history did not show it, so a message reaches the MUC once.
use std::{
    collections::{BTreeMap, HashSet},
    time::{Duration, Instant},
};

use crate::domain::chat_text::{TextError, first_unrepresentable};

/// Messages in flight to one MUC at most. A reconnect looks for the unsure ones in the history
/// the MUC sends on joining, 20 messages by default on Prosody: with at most 10 in flight, 10
/// others may speak in between.
pub(super) const WINDOW: usize = 10;
/// Sends of one message before it is given up on.
pub(super) const MAX_TRIES: u32 = 3;
/// A message the MUC neither reflects nor refuses within this counts as refused.
pub(super) const ECHO_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Waiting to be sent.
    Queued,
    /// Sent on the current connection at this instant; its reflection is awaited.
    InFlight(Instant),
    /// In flight when its connection was lost: the MUC may have it.
    Unsure,
    /// In the MUC.
    Done,
    /// Given up on.
    Failed,
}

#[derive(Debug)]
struct Item {
    text: String,
    tries: u32,
    /// Not sent again before this (after a refusal).
    retry_at: Option<Instant>,
    stage: Stage,
}

/// What to write down about a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Outcome {
    Sent(i64),
    Failed(i64, String),
}

/// One MUC's messages, by id. Settled ones (done, failed) are kept until the database no
/// longer lists them as pending, so a listing read before they were written down does not
/// bring them back.
#[derive(Debug, Default)]
pub(super) struct Outbox {
    items: BTreeMap<i64, Item>,
    /// The latest listing holds every pending message up to this id.
    listed_to: i64,
}

impl Outbox {
    /// Take in the pending messages the database lists, oldest first; `complete` when that is
    /// all of them, else all up to the last one. A text XML cannot carry (stored before the
    /// text rule) fails at once.
    pub(super) fn merge(&mut self, pending: &[(i64, String)], complete: bool) -> Vec<Outcome> {
        self.listed_to = match pending.last() {
            _ if complete => i64::MAX,
            Some((id, _)) => *id,
            None => i64::MIN,
        };
        let listed: HashSet<i64> = pending.iter().map(|(id, _)| *id).collect();
        let bound = self.listed_to;
        self.items
            .retain(|id, _| *id > bound || listed.contains(id));
        let mut outcomes = Vec::new();
        for (id, text) in pending {
            if self.items.contains_key(id) {
                continue;
            }
            let stage = match first_unrepresentable(text) {
                Some((at, ch)) => {
                    let why = TextError::Unrepresentable { ch, at }.describe();
                    outcomes.push(Outcome::Failed(*id, format!("the text {why}")));
                    Stage::Failed
                }
                None => Stage::Queued,
            };
            self.items.insert(
                *id,
                Item {
                    text: text.clone(),
                    tries: 0,
                    retry_at: None,
                    stage,
                },
            );
        }
        outcomes
    }

    /// The messages to send now, oldest first, keeping at most `WINDOW` in flight.
    pub(super) fn due(&self, now: Instant) -> Vec<(i64, String)> {
        let room = WINDOW.saturating_sub(self.in_flight());
        self.items
            .iter()
            .filter(|(_, i)| i.stage == Stage::Queued && i.retry_at.is_none_or(|t| t <= now))
            .take(room)
            .map(|(id, i)| (*id, i.text.clone()))
            .collect()
    }

    pub(super) fn in_flight(&self) -> usize {
        self.items
            .values()
            .filter(|i| matches!(i.stage, Stage::InFlight(_)))
            .count()
    }

    /// Message `id` went out.
    pub(super) fn sent(&mut self, id: i64, now: Instant) {
        if let Some(item) = self.items.get_mut(&id) {
            item.tries += 1;
            item.stage = Stage::InFlight(now);
        }
    }

    /// The MUC reflected message `id`, live or in its history.
    pub(super) fn reflected(&mut self, id: i64) -> Option<Outcome> {
        match self.items.get_mut(&id) {
            Some(item) if item.stage == Stage::Done => None,
            Some(item) => {
                item.stage = Stage::Done;
                Some(Outcome::Sent(id))
            }
            // Not listed: already written down as sent, unless beyond the listing (kept, so
            // that a later listing does not queue it).
            None if id <= self.listed_to => None,
            None => {
                let item = Item {
                    text: String::new(),
                    tries: 0,
                    retry_at: None,
                    stage: Stage::Done,
                };
                self.items.insert(id, item);
                Some(Outcome::Sent(id))
            }
        }
    }

    /// Sending message `id` failed, or the MUC answered it with an error: it is tried again
    /// after a pause, or given up on after `MAX_TRIES`.
    pub(super) fn refused(&mut self, id: i64, why: &str, now: Instant) -> Option<Outcome> {
        let item = self.items.get_mut(&id)?;
        if !matches!(item.stage, Stage::InFlight(_) | Stage::Unsure) {
            return None;
        }
        if item.tries >= MAX_TRIES {
            item.stage = Stage::Failed;
            return Some(Outcome::Failed(
                id,
                format!("{why} (tried {} times)", item.tries),
            ));
        }
        item.stage = Stage::Queued;
        item.retry_at = Some(now + Duration::from_secs(1 << item.tries.min(6)));
        None
    }

    /// The connection (or the membership of the MUC) is gone. What the server acknowledged
    /// receiving (`server_has`) is in the MUC; whatever else was in flight may be.
    pub(super) fn connection_lost(&mut self, server_has: impl Fn(i64) -> bool) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        for (id, item) in &mut self.items {
            if let Stage::InFlight(_) = item.stage {
                if server_has(*id) {
                    item.stage = Stage::Done;
                    outcomes.push(Outcome::Sent(*id));
                } else {
                    item.stage = Stage::Unsure;
                }
            }
        }
        outcomes
    }

    /// The history of a new join has been read: what it did not show is sent again, unless
    /// it went out `MAX_TRIES` times already.
    pub(super) fn history_read(&mut self) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        for (id, item) in &mut self.items {
            if item.stage != Stage::Unsure {
                continue;
            }
            if item.tries >= MAX_TRIES {
                item.stage = Stage::Failed;
                outcomes.push(Outcome::Failed(
                    *id,
                    format!(
                        "the connection to the XMPP server was lost each time it was sent ({} times)",
                        item.tries
                    ),
                ));
            } else {
                item.stage = Stage::Queued;
            }
        }
        outcomes
    }

    /// Messages in flight for longer than `ECHO_TIMEOUT` count as refused.
    pub(super) fn overdue(&mut self, now: Instant) -> Vec<Outcome> {
        let late: Vec<i64> = self
            .items
            .iter()
            .filter(|(_, i)| matches!(i.stage, Stage::InFlight(at) if now >= at + ECHO_TIMEOUT))
            .map(|(id, _)| *id)
            .collect();
        let why = format!(
            "the XMPP room did not reflect it within {} s",
            ECHO_TIMEOUT.as_secs()
        );
        late.into_iter()
            .filter_map(|id| self.refused(id, &why, now))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(ids: &[i64]) -> Vec<(i64, String)> {
        ids.iter().map(|id| (*id, format!("m{id}"))).collect()
    }

    fn ids(due: &[(i64, String)]) -> Vec<i64> {
        due.iter().map(|(id, _)| *id).collect()
    }

    #[test]
    fn sends_in_order_within_the_window() {
        let now = Instant::now();
        let mut o = Outbox::default();
        let all: Vec<i64> = (1..=15).collect();
        assert!(o.merge(&pending(&all), true).is_empty());
        let due = o.due(now);
        assert_eq!(ids(&due), (1..=10).collect::<Vec<_>>());
        for (id, _) in &due {
            o.sent(*id, now);
        }
        assert!(o.due(now).is_empty(), "the window is full");
        assert_eq!(o.reflected(1), Some(Outcome::Sent(1)));
        assert_eq!(o.reflected(1), None, "once");
        assert_eq!(ids(&o.due(now)), [11]);
        // A listing read before message 1 was written down does not queue it again; one
        // read after forgets it.
        o.merge(&pending(&all), true);
        assert_eq!(ids(&o.due(now)), [11]);
        o.merge(&pending(&all[1..]), true);
        assert_eq!(o.reflected(1), None, "not pending any more");
    }

    #[test]
    fn a_lost_connection_resends_only_what_the_history_did_not_show() {
        let now = Instant::now();
        let mut o = Outbox::default();
        o.merge(&pending(&[1, 2, 3, 4]), true);
        for (id, _) in o.due(now) {
            o.sent(id, now);
        }
        // The server acknowledged 1; 2..4 were in flight.
        assert_eq!(o.connection_lost(|id| id == 1), [Outcome::Sent(1)]);
        assert!(
            o.due(now).is_empty(),
            "nothing goes before the history is read"
        );
        // The history shows 3.
        assert_eq!(o.reflected(3), Some(Outcome::Sent(3)));
        assert!(o.history_read().is_empty());
        assert_eq!(ids(&o.due(now)), [2, 4]);
    }

    #[test]
    fn the_history_of_a_new_term_acknowledges_what_is_beyond_the_listing() {
        let mut o = Outbox::default();
        o.merge(&pending(&[5, 6]), false);
        // 4 is before the listing: written down as sent already.
        assert_eq!(o.reflected(4), None);
        assert_eq!(o.reflected(9), Some(Outcome::Sent(9)));
        o.merge(&pending(&[5, 6, 9]), true);
        assert_eq!(ids(&o.due(Instant::now())), [5, 6]);
    }

    #[test]
    fn refusals_are_retried_then_given_up_without_holding_back_the_rest() {
        let t0 = Instant::now();
        let mut o = Outbox::default();
        o.merge(&pending(&[1, 2]), true);
        let mut now = t0;
        for attempt in 1..=MAX_TRIES {
            let due = o.due(now);
            assert_eq!(due[0].0, 1, "attempt {attempt}");
            o.sent(1, now);
            let outcome = o.refused(1, "forbidden", now);
            if attempt < MAX_TRIES {
                assert_eq!(outcome, None);
                assert_eq!(ids(&o.due(now)), [2], "2 goes on while 1 waits");
                now += Duration::from_secs(60);
            } else {
                assert_eq!(
                    outcome,
                    Some(Outcome::Failed(1, "forbidden (tried 3 times)".into()))
                );
            }
        }
        assert_eq!(ids(&o.due(now)), [2]);
        // A late reflection of a message given up on still counts.
        assert_eq!(o.reflected(1), Some(Outcome::Sent(1)));
    }

    #[test]
    fn unrepresentable_text_fails_at_once() {
        let mut o = Outbox::default();
        let out = o.merge(&[(1, "Bob wrote:\na\u{1}b".into()), (2, "ok".into())], true);
        assert!(
            matches!(&out[..], [Outcome::Failed(1, why)] if why.contains("U+0001")),
            "{out:?}"
        );
        assert_eq!(ids(&o.due(Instant::now())), [2]);
    }

    #[test]
    fn unreflected_messages_time_out_and_lost_ones_give_up() {
        let t0 = Instant::now();
        let mut o = Outbox::default();
        o.merge(&pending(&[1]), true);
        o.sent(1, t0);
        assert!(o.overdue(t0 + Duration::from_secs(1)).is_empty());
        assert!(o.overdue(t0 + ECHO_TIMEOUT).is_empty(), "tried again later");
        assert!(o.due(t0 + ECHO_TIMEOUT).is_empty());
        let later = t0 + ECHO_TIMEOUT + Duration::from_secs(10);
        assert_eq!(ids(&o.due(later)), [1]);
        o.sent(1, later);
        o.connection_lost(|_| false);
        assert!(o.history_read().is_empty());
        o.sent(1, later);
        o.connection_lost(|_| false);
        let out = o.history_read();
        assert!(
            matches!(&out[..], [Outcome::Failed(1, why)] if why.contains("3 times")),
            "{out:?}"
        );
    }
}
