//! The hot reads answered from memory while the database is unchanged (see
//! `store::change_watch` and `store::snapshot_watch` for why that is exact).
//!
//! A read here sees every commit that finished before the current request arrived (or before
//! the call, outside a request), and may be as of that moment: on Postgres one snapshot query
//! that began after the request arrived answers all of its reads. So a request must not read
//! its own writes through here; none does (the token check comes before anything is written,
//! and the rooms list writes nothing).
//!
//! Profiling the authenticated rooms list put nearly all of its time in these two reads: the
//! access token's family and client, and the page of rooms with their peers (kept as the
//! response body it was rendered into, see `api::rendered_json`).
use std::{future::Future, sync::Arc, time::Instant};

use bytes::Bytes;
use uuid::Uuid;

use crate::{
    store::{
        change_watch::ChangeWatch,
        entities::{api_client, token_family},
        read_cache::ReadCache,
    },
    telemetry::RequestContext,
};

/// Token families kept between two writes (a few hundred bytes each).
const FAMILIES: usize = 4096;
/// Bytes of rendered room pages kept between two writes.
const PAGE_BYTES: usize = 8 << 20;

pub type FamilyWithClient = Option<(token_family::Model, api_client::Model)>;

/// Which page of which org's rooms, for whom: org, domain filter, page, count, and whether
/// the caller is a viewer (viewers do not see room passwords).
pub type RoomPageKey = (Uuid, Option<String>, u64, u64, bool);

#[derive(Debug)]
pub struct CachedReads {
    watch: ChangeWatch,
    token_families: ReadCache<Uuid, Arc<FamilyWithClient>>,
    room_pages: ReadCache<RoomPageKey, Bytes>,
}

impl CachedReads {
    /// Reads kept while `watch` sees no change.
    pub fn new(watch: ChangeWatch) -> Self {
        Self {
            watch,
            token_families: ReadCache::new(FAMILIES, |_| 1),
            room_pages: ReadCache::new(PAGE_BYTES, Bytes::len),
        }
    }

    /// The token family (with its client) `load` reads, from memory while unchanged.
    pub async fn token_family<E>(
        &self,
        family_id: Uuid,
        load: impl Future<Output = Result<Arc<FamilyWithClient>, E>>,
    ) -> Result<Arc<FamilyWithClient>, E> {
        let version = self.version().await;
        self.token_families
            .get_or_load(version, family_id, load)
            .await
    }

    /// The rendered rooms page `render` makes, from memory while unchanged.
    pub async fn room_page<E>(
        &self,
        key: RoomPageKey,
        render: impl Future<Output = Result<Bytes, E>>,
    ) -> Result<Bytes, E> {
        let version = self.version().await;
        self.room_pages.get_or_load(version, key, render).await
    }

    /// Postgres only: snapshot queries asked (see `store::snapshot_watch`).
    pub fn snapshot_queries(&self) -> Option<u64> {
        self.watch.snapshot_queries()
    }

    async fn version(&self) -> Option<i64> {
        let since = RequestContext::arrival().unwrap_or_else(Instant::now);
        self.watch.version_since(since).await
    }
}
