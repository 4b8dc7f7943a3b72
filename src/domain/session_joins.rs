//! Opening session links together (the batches [`crate::join_queue`] forms): one
//! transaction, and one statement per table for all of them.
//!
//! Every check runs on rows read (and locked) for the whole batch before anything is
//! written, so a refused link writes nothing and the others go on. A failing statement
//! aborts the whole transaction; then each link of the batch is tried again on its own.
use crate::error::Code;
use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::{
    link_signatures::{Signed, check_signatures},
    revocations::{self, LinkFacts},
    session_admissions::Admissions,
    sessions::{Entered, room_name},
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
        entities::{api_client, domain, organisation, room, subscription},
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
pub async fn enter_signed<T>(
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
pub(super) struct Link<'a> {
    pub(super) index: usize,
    token: &'a str,
    pub(super) claims: LinkClaims,
    pub(super) client: &'a api_client::Model,
    pub(super) org: &'a organisation::Model,
    pub(super) domain: &'a domain::Model,
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

/// A link whose ref names an active subscription, with the link's digest.
pub(super) struct Subscribed<'a, 's> {
    pub(super) link: Link<'a>,
    pub(super) hash: String,
    pub(super) subscription: &'s subscription::Model,
}

pub(super) fn is_owner(link: &Link<'_>) -> bool {
    link.claims.role == LinkRole::Owner
}

fn subscription_key(link: &Link<'_>) -> (Uuid, String) {
    (link.org.id, link.claims.reference.clone())
}

/// The checks and writes inside the transaction, for links whose signatures hold.
async fn admit_checked(
    state: &AppState,
    tx: &mut WriteTx,
    links: Vec<Link<'_>>,
    out: &mut [Option<Result<Entered>>],
) -> Result<()> {
    // One time for the whole batch.
    let now = tx.now();
    let subscriptions = lock_subscriptions(tx, &links).await?;
    let checked = with_active_subscription(links, &subscriptions, out);
    let facts: Vec<LinkFacts<'_>> = checked.iter().map(link_facts).collect();
    let revoked = store::revocations::naming_any(tx.conn(), &link_keys(&facts)).await?;
    let mut batch = Admissions {
        now,
        owners_live: owners_present(tx, &checked).await?,
        rooms: lock_rooms(tx, &checked, out.len() > 1).await?,
        new_peers: Vec::new(),
        entries: Vec::new(),
    };
    for (link, facts) in checked.iter().zip(&facts) {
        out[link.link.index] = Some(if revoked.iter().any(|r| revocations::refuses(r, facts)) {
            Err(Error::forbidden(
                Code::LinkRevoked,
                "this link has been revoked",
            ))
        } else {
            batch.admit(state, tx, link).await?
        });
    }
    // Peers first: entries refer to them.
    store::peers::insert_many(tx.conn(), batch.new_peers).await?;
    store::session_entries::insert_many(tx.conn(), batch.entries).await?;
    Ok(())
}

/// The active subscriptions the links name. An owner's entries lock the subscription, so it
/// cannot become live in two sessions at once; guests only read it (they need not wait for
/// each other).
async fn lock_subscriptions(
    tx: &mut WriteTx,
    links: &[Link<'_>],
) -> Result<HashMap<(Uuid, String), subscription::Model>> {
    let owner_keys: HashSet<(Uuid, String)> = links
        .iter()
        .filter(|l| is_owner(l))
        .map(subscription_key)
        .collect();
    let guest_keys: HashSet<(Uuid, String)> = links
        .iter()
        .map(subscription_key)
        .filter(|k| !owner_keys.contains(k))
        .collect();
    let mut subscriptions = HashMap::new();
    for (keys, lock) in [(owner_keys, true), (guest_keys, false)] {
        let mut keys: Vec<(Uuid, &str)> = keys.iter().map(|(o, r)| (*o, r.as_str())).collect();
        keys.sort_unstable();
        for s in store::subscriptions::active_by_refs(tx.conn(), &keys, lock).await? {
            subscriptions.insert((s.org_id, s.reference.clone()), s);
        }
    }
    Ok(subscriptions)
}

/// The links whose subscription is active; the others are refused in `out`.
fn with_active_subscription<'a, 's>(
    links: Vec<Link<'a>>,
    subscriptions: &'s HashMap<(Uuid, String), subscription::Model>,
    out: &mut [Option<Result<Entered>>],
) -> Vec<Subscribed<'a, 's>> {
    let mut checked = Vec::new();
    for link in links {
        match subscriptions.get(&subscription_key(&link)) {
            Some(subscription) => checked.push(Subscribed {
                hash: random::digest(link.token),
                link,
                subscription,
            }),
            None => {
                out[link.index] = Some(Err(Error::forbidden(
                    Code::InactiveSubscription,
                    "no active subscription has this ref; the owner may not host",
                )))
            }
        }
    }
    checked
}

/// What a revocation may name about a link.
fn link_facts<'a>(s: &'a Subscribed<'_, '_>) -> LinkFacts<'a> {
    let claims = &s.link.claims;
    LinkFacts {
        org_id: s.link.org.id,
        link_hash: &s.hash,
        jti: claims.jti.as_deref(),
        session_id: &claims.sid,
        subscription_id: s.subscription.id,
        issued_at: claims.iat.or(claims.nbf),
    }
}

/// Everything a revocation of these links could name, each value once: links of one batch
/// mostly share their org and subscription, often their session.
fn link_keys<'a>(all: &[LinkFacts<'a>]) -> LinkKeys<'a> {
    LinkKeys {
        org_ids: distinct(all.iter().map(|f| f.org_id)),
        link_hashes: distinct(all.iter().map(|f| f.link_hash)),
        jtis: distinct(all.iter().filter_map(|f| f.jti)),
        session_ids: distinct(all.iter().map(|f| f.session_id)),
        subscription_ids: distinct(all.iter().map(|f| f.subscription_id)),
    }
}

/// The sessions the owners' subscriptions are live in now.
async fn owners_present(
    tx: &mut WriteTx,
    checked: &[Subscribed<'_, '_>],
) -> Result<HashSet<(Uuid, String)>> {
    let owner_subscriptions: Vec<Uuid> = checked
        .iter()
        .filter(|s| is_owner(&s.link))
        .map(|s| s.subscription.id)
        .collect();
    Ok(
        store::session_entries::owners_present(tx.conn(), &owner_subscriptions)
            .await?
            .into_iter()
            .collect(),
    )
}

/// The live rooms of the links' sessions, locked; the names of those still to be opened are
/// claimed first, so that another node's batch opening the same sessions now is waited for,
/// and its rooms then found rather than opened twice.
async fn lock_rooms(
    tx: &mut WriteTx,
    checked: &[Subscribed<'_, '_>],
    batch: bool,
) -> Result<HashMap<(Uuid, String), room::Model>> {
    let room_keys: Vec<(Uuid, String)> = checked
        .iter()
        .map(|s| (s.link.domain.id, room_name(&s.link.claims.sid)))
        .collect();
    let lookup = distinct(room_keys.iter().map(|(d, n)| (*d, n.as_str())));
    let mut found = store::rooms::lock_live_many(tx.conn(), &lookup).await?;
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
        found.extend(if batch {
            store::rooms::lock_live_many_or_fail(tx.conn(), &missing).await?
        } else {
            store::rooms::lock_live_many(tx.conn(), &missing).await?
        });
    }
    Ok(found
        .into_iter()
        .map(|r| ((r.domain_id, r.name.clone()), r))
        .collect())
}
