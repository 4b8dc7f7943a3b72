//! Opening session links together (the batches [`super::join_queue`] forms): one
//! transaction, and one statement per table for all of them.
//!
//! Every check runs on rows read (and locked) for the whole batch before anything is
//! written, so a refused link writes nothing and the others go on. A failing statement
//! aborts the whole transaction; then each link of the batch is tried again on its own.
use std::collections::{HashMap, HashSet, hash_map};

use sea_orm::ActiveValue::Set;
use uuid::Uuid;

use super::{
    link_signatures::{Signed, check_signatures},
    peers::{self, Entry},
    revocations::{self, LinkFacts},
    room_model::Role,
    sessions::{Entered, open_session_room, room_name},
};
use crate::{
    auth::{
        random,
        session_link::{LinkClaims, LinkRole},
    },
    error::{Error, Result},
    events::tx::WriteTx,
    state::AppState,
    store::{
        self,
        entities::{api_client, domain, organisation, room, session_entry, subscription},
        revocations::LinkKeys,
    },
};

/// Open these links as one batch: one result per link, in order, each as if it had been
/// opened alone after the links before it.
pub async fn enter_together(state: &AppState, tokens: &[&str]) -> Vec<Result<Entered>> {
    let result = admit(state, tokens).await;
    settle(state, tokens, result).await
}

/// [`enter_together`] for the writer of batches: `signed` is what [`check_signatures`] found
/// for these links beforehand, and `meanwhile` runs while their transaction commits (the
/// writer checks the next batch then); its output comes back when the batch got that far.
pub(super) async fn enter_signed<T>(
    state: &AppState,
    tokens: &[&str],
    signed: Result<Signed>,
    meanwhile: impl Future<Output = T>,
) -> (Vec<Result<Entered>>, Option<T>) {
    let (result, next) = match signed {
        Ok(signed) => admit_signed(state, tokens, signed, meanwhile).await,
        Err(e) => (Err(e), None),
    };
    (settle(state, tokens, result).await, next)
}

/// A batch's results; a batch that failed as a whole is tried again link by link.
async fn settle(
    state: &AppState,
    tokens: &[&str],
    result: Result<Vec<Result<Entered>>>,
) -> Vec<Result<Entered>> {
    match result {
        Ok(results) => results,
        Err(e) if tokens.len() == 1 => vec![Err(e)],
        Err(e) => {
            // Such as a room being opened by a path that does not claim its name first.
            tracing::info!(error = ?e, links = tokens.len(), "a batch of joins failed; trying each link alone");
            state.metrics.join_batch_fallback();
            let mut results = Vec::with_capacity(tokens.len());
            for token in tokens {
                let alone = admit(state, &[token]).await;
                results.push(alone.and_then(|mut r| r.pop().unwrap_or_else(dropped)));
            }
            results
        }
    }
}

fn outcomes(out: Vec<Option<Result<Entered>>>) -> Vec<Result<Entered>> {
    out.into_iter().map(|r| r.unwrap_or_else(dropped)).collect()
}

fn dropped() -> Result<Entered> {
    Err(Error::Internal(anyhow::anyhow!("a join got no result")))
}

pub(super) fn distinct<T: Ord>(values: impl Iterator<Item = T>) -> Vec<T> {
    let mut values: Vec<T> = values.collect();
    values.sort_unstable();
    values.dedup();
    values
}

/// A link that passed the checks so far.
struct Link<'a> {
    index: usize,
    token: &'a str,
    claims: LinkClaims,
    client: &'a api_client::Model,
    org: &'a organisation::Model,
    domain: &'a domain::Model,
}

/// Open the links in one transaction: one result per link, in order; `Err` when a statement
/// failed (nothing was written then).
async fn admit(state: &AppState, tokens: &[&str]) -> Result<Vec<Result<Entered>>> {
    let signed = check_signatures(state, tokens).await?;
    admit_signed(state, tokens, signed, async {}).await.0
}

/// [`admit`] after [`check_signatures`]; `meanwhile` runs beside the commit.
async fn admit_signed<T>(
    state: &AppState,
    tokens: &[&str],
    signed: Signed,
    meanwhile: impl Future<Output = T>,
) -> (Result<Vec<Result<Entered>>>, Option<T>) {
    let Signed {
        mut out,
        clients,
        orgs,
        links: signed,
    } = signed;
    let mut links = Vec::new();
    for (index, claims, api_key) in signed {
        let client = clients.get(&api_key);
        match client.and_then(|c| Some((c, orgs.get(&c.org_id)?))) {
            Some((client, (org, domain))) => links.push(Link {
                index,
                token: tokens[index],
                claims,
                client,
                org,
                domain,
            }),
            None => out[index] = Some(Err(Error::not_found("domain"))),
        }
    }
    if links.is_empty() {
        return (Ok(outcomes(out)), None);
    }
    let written = async {
        let mut tx = WriteTx::begin_batch(state).await?;
        admit_checked(state, &mut tx, links, &mut out).await?;
        Ok::<_, Error>(tx)
    };
    let tx = match written.await {
        Ok(tx) => tx,
        Err(e) => return (Err(e), None),
    };
    let (committed, next) = tokio::join!(tx.commit(), meanwhile);
    (committed.map(|()| outcomes(out)), Some(next))
}

/// The checks and writes inside the transaction, for links whose signatures hold.
async fn admit_checked(
    state: &AppState,
    tx: &mut WriteTx,
    links: Vec<Link<'_>>,
    out: &mut [Option<Result<Entered>>],
) -> Result<()> {
    let now = tx.now();
    let key = |l: &Link<'_>| (l.org.id, l.claims.reference.clone());
    let is_owner = |l: &Link<'_>| l.claims.role == LinkRole::Owner;
    // An owner's entries lock the subscription, so it cannot become live in two sessions at
    // once; guests only read it (they need not wait for each other).
    let owner_keys: HashSet<(Uuid, String)> =
        links.iter().filter(|l| is_owner(l)).map(key).collect();
    let guest_keys: HashSet<(Uuid, String)> = links
        .iter()
        .map(key)
        .filter(|k| !owner_keys.contains(k))
        .collect();
    let mut subscriptions: HashMap<(Uuid, String), subscription::Model> = HashMap::new();
    for (keys, lock) in [(owner_keys, true), (guest_keys, false)] {
        let mut keys: Vec<(Uuid, &str)> = keys.iter().map(|(o, r)| (*o, r.as_str())).collect();
        keys.sort_unstable();
        for s in store::subscriptions::active_by_refs(tx.conn(), &keys, lock).await? {
            subscriptions.insert((s.org_id, s.reference.clone()), s);
        }
    }
    let mut checked = Vec::new();
    for link in links {
        match subscriptions.get(&key(&link)) {
            Some(s) => {
                let hash = random::digest(link.token);
                checked.push((link, hash, s))
            }
            None => {
                out[link.index] = Some(Err(Error::forbidden(
                    "inactive_subscription",
                    "no active subscription has this ref; the owner may not host",
                )))
            }
        }
    }

    let all: Vec<LinkFacts<'_>> = checked
        .iter()
        .map(|(l, hash, s)| LinkFacts {
            org_id: l.org.id,
            link_hash: hash,
            jti: l.claims.jti.as_deref(),
            session_id: &l.claims.sid,
            subscription_id: s.id,
            issued_at: l.claims.iat.or(l.claims.nbf),
        })
        .collect();
    // Links of one batch mostly share their org and subscription, often their session.
    let keys = LinkKeys {
        org_ids: distinct(all.iter().map(|f| f.org_id)),
        link_hashes: distinct(all.iter().map(|f| f.link_hash)),
        jtis: distinct(all.iter().filter_map(|f| f.jti)),
        session_ids: distinct(all.iter().map(|f| f.session_id)),
        subscription_ids: distinct(all.iter().map(|f| f.subscription_id)),
    };
    let revoked = store::revocations::naming_any(tx.conn(), &keys).await?;
    let owner_subscriptions: Vec<Uuid> = checked
        .iter()
        .filter(|(l, ..)| is_owner(l))
        .map(|(.., s)| s.id)
        .collect();
    // Where each owner is present now (and, as the batch goes on, admitted).
    let mut owners_live: HashSet<(Uuid, String)> =
        store::session_entries::owners_present(tx.conn(), &owner_subscriptions)
            .await?
            .into_iter()
            .collect();
    let room_keys: Vec<(Uuid, String)> = checked
        .iter()
        .map(|(l, ..)| (l.domain.id, room_name(&l.claims.sid)))
        .collect();
    let lookup = distinct(room_keys.iter().map(|(d, n)| (*d, n.as_str())));
    let mut found = store::rooms::lock_live_many(tx.conn(), &lookup).await?;
    // Rooms this batch may open: claimed first, so that another node's batch opening the
    // same sessions now is waited for, and its rooms then found rather than opened twice.
    let missing: Vec<(Uuid, &str)> = lookup
        .iter()
        .filter(|(d, n)| !found.iter().any(|r| r.domain_id == *d && r.name == *n))
        .copied()
        .collect();
    if store::rooms::claim_names(tx.conn(), &missing).await? {
        // Found now means another transaction opened the room meanwhile. A batch does not
        // wait for its lock while holding claims (a batch that locked the room and then
        // waits for one of ours would deadlock with it): it fails at once and is redone link
        // by link. One link claims one name, which nobody holding the room's lock waits for.
        found.extend(if out.len() > 1 {
            store::rooms::lock_live_many_or_fail(tx.conn(), &missing).await?
        } else {
            store::rooms::lock_live_many(tx.conn(), &missing).await?
        });
    }
    let mut rooms: HashMap<(Uuid, String), room::Model> = found
        .into_iter()
        .map(|r| ((r.domain_id, r.name.clone()), r))
        .collect();

    let mut new_peers = Vec::new();
    let mut entries = Vec::new();
    for ((link, hash, subscription), facts) in checked.iter().zip(&all) {
        let index = link.index;
        if revoked.iter().any(|r| revocations::refuses(r, facts)) {
            out[index] = Some(Err(Error::forbidden(
                "link_revoked",
                "this link has been revoked",
            )));
            continue;
        }
        let claims = &link.claims;
        let owner = is_owner(link);
        if owner
            && owners_live
                .iter()
                .any(|(s, sid)| *s == subscription.id && *sid != claims.sid)
        {
            out[index] = Some(Err(Error::conflict(
                "subscription_busy",
                "the subscription is live in another session; one subscription hosts one session at a time",
            )));
            continue;
        }
        // Before a room opens for it: a refused link leaves nothing behind.
        if let Err(e) = peers::display_name_of(&claims.un) {
            out[index] = Some(Err(e));
            continue;
        }
        let name = room_name(&claims.sid);
        let room = match rooms.entry((link.domain.id, name.clone())) {
            hash_map::Entry::Occupied(room) => room.into_mut(),
            hash_map::Entry::Vacant(place) => {
                let room = open_session_room(
                    state,
                    tx,
                    link.domain,
                    &name,
                    claims,
                    link.client.id,
                    link.org.session_capacity,
                )
                .await?;
                place.insert(room)
            }
        };
        let role = if owner { Role::Host } else { Role::User };
        let entry = Entry::Link {
            role,
            link_hash: hash.clone(),
            return_url: claims.rtn.clone(),
        };
        let (peer, peer_token) = match peers::admission(state, room, &claims.un, &entry, None, now)
        {
            Ok(admission) => admission,
            Err(e) => {
                out[index] = Some(Err(e));
                continue;
            }
        };
        new_peers.push(peer.clone());
        let peer = peers::admitted(tx, link.domain, room, peer).await?;
        if owner {
            owners_live.insert((subscription.id, claims.sid.clone()));
        }
        let entry_id = Uuid::new_v4();
        let role_name = if owner { "owner" } else { "guest" };
        entries.push(session_entry::ActiveModel {
            id: Set(entry_id),
            org_id: Set(link.org.id),
            client_id: Set(link.client.id),
            session_id: Set(claims.sid.clone()),
            room_id: Set(room.id),
            subscription_id: Set(subscription.id),
            peer_id: Set(peer.id),
            role: Set(role_name.to_string()),
            name: Set(peer.display_name.clone()),
            // The id of the issued peer token, never the token itself.
            access_token_id: Set(format!("tok_{}", Uuid::new_v4().simple())),
            link_hash: Set(hash.clone()),
            entry_time: Set(now),
        });
        out[index] = Some(Ok(Entered {
            entry_id,
            org_id: link.org.id,
            session_id: claims.sid.clone(),
            role: role_name,
            peer,
            peer_token,
            domain: link.domain.name.clone(),
            room: name,
        }));
    }
    // Peers first: entries refer to them.
    store::peers::insert_many(tx.conn(), new_peers).await?;
    store::session_entries::insert_many(tx.conn(), entries).await?;
    Ok(())
}
