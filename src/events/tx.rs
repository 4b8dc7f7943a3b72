//! A write transaction that records events: each event is written to the outbox, with one
//! delivery per matching webhook, in the same transaction as the change it describes. After
//! commit the node's bus learns of them.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::{Event, EventKind, RobotTarget};
use crate::{
    error::Result,
    state::AppState,
    store::{
        self,
        connect::begin_write,
        deliveries::NewDelivery,
        entities::{domain, room, webhook},
        events::NewEvent,
    },
};

/// The Postgres NOTIFY channel carrying ids of committed events (a trigger on `events`
/// notifies it; see the migration `notify_trigger`).
pub const CHANNEL: &str = "meetplane_events";

pub struct WriteTx {
    txn: store::Tx,
    state: AppState,
    recorded: Vec<Event>,
    deliveries: usize,
    wake_bridge: bool,
    deferred: Option<Deferred>,
}

/// The writes of a batch transaction, held until commit so that many changes share one
/// statement per table (a round trip per change is what limits a busy Postgres).
#[derive(Default)]
struct Deferred {
    /// The latest counters of each room an event was emitted for.
    rooms: HashMap<Uuid, room::Model>,
    events: Vec<NewEvent>,
    deliveries: Vec<NewDelivery>,
    /// Webhooks by domain, read once per transaction (nothing in a batch changes them).
    hooks: HashMap<Uuid, Vec<webhook::Model>>,
}

impl WriteTx {
    pub async fn begin(state: &AppState) -> Result<Self> {
        Ok(Self {
            txn: begin_write(&state.writer).await?,
            state: state.clone(),
            recorded: Vec::new(),
            deliveries: 0,
            wake_bridge: false,
            deferred: None,
        })
    }

    /// A transaction whose room counters, events and deliveries are written at commit, in
    /// one statement each. Reads of those tables inside it do not see them before then.
    pub async fn begin_batch(state: &AppState) -> Result<Self> {
        let mut tx = Self::begin(state).await?;
        tx.deferred = Some(Deferred::default());
        Ok(tx)
    }

    pub fn conn(&self) -> &store::Tx {
        &self.txn
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.state.now()
    }

    /// Record an event of `room` (whose row this transaction holds locked): bump the room's
    /// sequence number, write the event, and queue it for every matching webhook.
    pub async fn emit_room(
        &mut self,
        domain: &domain::Model,
        room: &mut room::Model,
        kind: EventKind,
        payload: Value,
    ) -> Result<()> {
        room.event_seq += 1;
        // Also stores the headcount the caller changed, in the same statement.
        match &mut self.deferred {
            Some(deferred) => {
                deferred.rooms.insert(room.id, room.clone());
            }
            None => store::rooms::set_counters(&self.txn, room).await?,
        }
        self.record(
            domain,
            Some((Some(room.id), room.name.clone())),
            room.event_seq,
            kind,
            payload,
        )
        .await
    }

    /// Record an event about a room that is not part of the room's own sequence (booking
    /// events, which also happen while no room exists): its `seq` is 0.
    pub async fn emit_unsequenced(
        &mut self,
        domain: &domain::Model,
        room_name: &str,
        kind: EventKind,
        payload: Value,
    ) -> Result<()> {
        self.record(
            domain,
            Some((None, room_name.to_string())),
            0,
            kind,
            payload,
        )
        .await
    }

    /// Record an event of a domain outside any room (direct dialogs of a chat widget).
    pub async fn emit_domain(
        &mut self,
        domain: &domain::Model,
        kind: EventKind,
        payload: Value,
    ) -> Result<()> {
        self.record(domain, None, 0, kind, payload).await
    }

    async fn record(
        &mut self,
        domain: &domain::Model,
        room: Option<(Option<Uuid>, String)>,
        seq: i64,
        kind: EventKind,
        payload: Value,
    ) -> Result<()> {
        let now = self.now();
        let room_name = room.as_ref().map(|(_, name)| name.as_str());
        let hooks = self.matching_webhooks(domain.id, room_name, kind).await?;
        let robots: Vec<RobotTarget> = hooks
            .iter()
            .filter_map(|w| {
                w.robot_id.map(|robot_id| RobotTarget {
                    webhook_id: w.id,
                    robot_id,
                })
            })
            .collect();
        let event = Event {
            id: Uuid::new_v4(),
            org_id: domain.org_id,
            domain_id: domain.id,
            domain: domain.name.clone(),
            room_id: room.as_ref().and_then(|(id, _)| *id),
            room: room.map(|(_, name)| name),
            seq,
            kind: kind.as_str().to_string(),
            payload,
            robots,
            created_at: now,
        };
        // Room passwords and host keys are sealed like everywhere else they are kept.
        let (stored, secrets) = super::seal_secrets(event.id, &event.payload, &self.state.sealer);
        let row = NewEvent {
            id: event.id,
            org_id: event.org_id,
            domain_id: event.domain_id,
            domain_name: event.domain.clone(),
            room_id: event.room_id,
            room_name: event.room.clone(),
            seq: event.seq,
            kind: event.kind.clone(),
            payload: stored,
            secrets,
            robots: serde_json::to_string(&event.robots).unwrap_or_else(|_| "[]".into()),
            created_at: now,
        };
        let order_key = event.order_key();
        let rows: Vec<NewDelivery> = hooks
            .iter()
            .filter(|w| w.url.is_some())
            .map(|w| new_delivery(w.id, event.id, &order_key, now))
            .collect();
        self.deliveries += rows.len();
        match &mut self.deferred {
            Some(deferred) => {
                deferred.events.push(row);
                deferred.deliveries.extend(rows);
            }
            None => {
                store::events::insert(&self.txn, row).await?;
                store::deliveries::insert_many(&self.txn, rows).await?;
            }
        }
        self.recorded.push(event);
        Ok(())
    }

    /// The domain's active webhooks that want this event. A batch reads the domain's
    /// webhooks once and copies only the matching ones for each event.
    async fn matching_webhooks(
        &mut self,
        domain_id: Uuid,
        room_name: Option<&str>,
        kind: EventKind,
    ) -> Result<Vec<webhook::Model>> {
        let matching = |hooks: &[webhook::Model]| -> Vec<webhook::Model> {
            hooks
                .iter()
                .filter(|w| super::routing::goes_to(w, room_name, kind))
                .cloned()
                .collect()
        };
        let Some(deferred) = &mut self.deferred else {
            let hooks = store::webhooks::active_for_domain(&self.txn, domain_id).await?;
            return Ok(matching(&hooks));
        };
        if let Some(hooks) = deferred.hooks.get(&domain_id) {
            return Ok(matching(hooks));
        }
        let hooks = store::webhooks::active_for_domain(&self.txn, domain_id).await?;
        let found = matching(&hooks);
        deferred.hooks.insert(domain_id, hooks);
        Ok(found)
    }

    /// After commit, tell this node's XMPP bridge that messages wait to be sent.
    pub fn wake_bridge(&mut self) {
        self.wake_bridge = true;
    }

    /// The last recorded event (to address a delivery to it explicitly).
    pub fn last_event(&self) -> Option<&Event> {
        self.recorded.last()
    }

    /// Queue a delivery of the last recorded event to one webhook (chat-bridge callbacks).
    pub async fn deliver_last_to(&mut self, webhook_id: i64) -> Result<()> {
        let Some(event) = self.recorded.last() else {
            return Ok(());
        };
        let row = new_delivery(webhook_id, event.id, &event.order_key(), self.now());
        match &mut self.deferred {
            Some(deferred) => deferred.deliveries.push(row),
            None => store::deliveries::insert_many(&self.txn, vec![row]).await?,
        }
        self.deliveries += 1;
        Ok(())
    }

    pub async fn commit(mut self) -> Result<()> {
        if let Some(deferred) = self.deferred.take() {
            let rooms: Vec<&room::Model> = deferred.rooms.values().collect();
            store::rooms::set_counters_many(&self.txn, &rooms).await?;
            store::events::insert_many(&self.txn, deferred.events).await?;
            store::deliveries::insert_many(&self.txn, deferred.deliveries).await?;
        }
        self.txn.commit().await?;
        if self.wake_bridge {
            self.state.bus.wake_bridge();
        }
        // Janus learns of departures and closed rooms after they are committed.
        if let Some(janus) = &self.state.janus {
            let gone = [EventKind::ClientsRemoved, EventKind::RoomRemoved].map(|k| k.as_str());
            if self
                .recorded
                .iter()
                .any(|e| gone.contains(&e.kind.as_str()))
            {
                janus.wake();
            }
        }
        self.state.bus.committed(self.recorded, self.deliveries > 0);
        Ok(())
    }
}

fn new_delivery(
    webhook_id: i64,
    event_id: Uuid,
    order_key: &str,
    now: DateTime<Utc>,
) -> NewDelivery {
    NewDelivery {
        webhook_id,
        event_id,
        order_key: order_key.to_string(),
        created_at: now,
    }
}
