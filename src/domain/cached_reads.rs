//! The hot reads answered from memory while the database is unchanged (SQLite only; see
//! `store::change_watch` for why that is exact, and why Postgres reads always go to the
//! database). Profiling the authenticated rooms list put nearly all of its time in these
//! two reads: the access token's family and client, and the page of rooms with their peers
//! (kept as the response body it was rendered into, see `api::rendered_json`).
use std::{future::Future, sync::Arc};

use bytes::Bytes;
use uuid::Uuid;

use crate::{
    config::DatabaseUrl,
    store::{
        change_watch::ChangeWatch,
        entities::{api_client, token_family},
        read_cache::ReadCache,
    },
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
    /// Watches the database when it is a SQLite file; call after the pool opened it.
    pub fn for_database(url: &DatabaseUrl) -> Self {
        let watch = match url.sqlite_path() {
            Some(path) => ChangeWatch::sqlite(&path),
            None => ChangeWatch::none(),
        };
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
        self.token_families
            .get_or_load(&self.watch, family_id, load)
            .await
    }

    /// The rendered rooms page `render` makes, from memory while unchanged.
    pub async fn room_page<E>(
        &self,
        key: RoomPageKey,
        render: impl Future<Output = Result<Bytes, E>>,
    ) -> Result<Bytes, E> {
        self.room_pages.get_or_load(&self.watch, key, render).await
    }
}
