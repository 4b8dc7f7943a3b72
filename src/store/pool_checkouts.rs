//! Whether this process's own pool touched the database since a moment: every connection the
//! pool hands out is counted before the caller gets it (sqlx's `before_acquire` for an idle
//! one, `after_connect` for a new one), so a write by this process always moves the count
//! before it begins, and a connection still out shows as the pool not being all idle.
//!
//! A mark taken while every connection is idle, and a count still equal to it later, mean
//! that nothing of this process wrote in between: that, with no other process writing (see
//! `writer_lock`), is what lets a snapshot read before the mark stand for the database now.
use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use sea_orm::sqlx::PgPool;

/// Connections handed out by one pool, counted by its hooks.
#[derive(Debug, Clone, Default)]
pub struct PoolCheckouts(Arc<AtomicU64>);

impl PoolCheckouts {
    /// Called by the pool's hooks, before the connection reaches its user.
    pub fn count(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    /// The count now, when every connection of `pool` is idle (none is being used, opened or
    /// returned); `None` otherwise. The count is read first: a connection taken after that
    /// either shows in the idle figure read next or moves the count before it is used.
    pub fn quiet_mark(&self, pool: &PgPool) -> Option<u64> {
        let mark = self.get();
        let idle = pool.num_idle();
        let size = pool.size();
        (u32::try_from(idle).ok() == Some(size)).then_some(mark)
    }
}
