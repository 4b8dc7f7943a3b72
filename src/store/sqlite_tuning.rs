//! Two SQLite settings that sqlx has no option for, applied through the C API.
//!
//! Both came out of profiling the authenticated rooms list (`cargo bench --bench reads`):
//! - **Query planner stability** (`SQLITE_DBCONFIG_ENABLE_QPSG`, per connection). Without it
//!   SQLite lets the bound value of `LIMIT ?` shape the plan and marks the statement to be
//!   compiled again whenever that parameter is rebound. sea-query binds every `LIMIT` (each
//!   `.one()` and every page), so sqlx's statement cache never helped those queries: about a
//!   fifth of the CPU went to parsing and planning the same SQL again. Plans no longer depend
//!   on bound values (we run no `ANALYZE`, and no index serves the attendance filter's
//!   `LIKE ?`), so nothing is lost.
//! - **No memory statistics** (`SQLITE_CONFIG_MEMSTATUS`, process-wide, before SQLite starts).
//!   The statistics take one global mutex on every SQLite allocation; with a worker thread per
//!   pooled connection that mutex was the most contended lock of the process. Nothing here
//!   reads `sqlite3_memory_used`.
use std::{ffi::c_int, sync::Once};

use libsqlite3_sys as ffi;
use sea_orm::sqlx::{Error as SqlxError, SqliteConnection};

/// Turns SQLite's memory statistics off. Only effective before SQLite initialises, i.e. before
/// the process's first SQLite connection; later calls change nothing.
pub fn before_first_connection() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config may run only while no other thread uses SQLite. Every SQLite
        // connection of the process is opened by `store::connect::connect` or
        // `store::change_watch::ChangeWatch::sqlite`, which both call this first, and `Once`
        // holds concurrent callers until it returned. Had SQLite already
        // started, it would return SQLITE_MISUSE and change nothing.
        let rc = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int) };
        if rc != ffi::SQLITE_OK {
            tracing::debug!(rc, "SQLite already initialised: memory statistics stay on");
        }
    });
}

/// Per connection, right after sqlx opened it.
pub async fn on_connect(conn: &mut SqliteConnection) -> Result<(), SqlxError> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `db` is the open connection sqlx holds locked for us; ENABLE_QPSG takes an int
    // and an optional int* for the resulting setting (null: not wanted).
    let rc = unsafe {
        ffi::sqlite3_db_config(
            db,
            ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as c_int,
            std::ptr::null_mut::<c_int>(),
        )
    };
    if rc != ffi::SQLITE_OK {
        return Err(SqlxError::Configuration(
            format!("sqlite3_db_config(ENABLE_QPSG) failed with code {rc}").into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use sea_orm::sqlx::Acquire;

    use super::*;
    use crate::config::DatabaseUrl;

    #[tokio::test]
    async fn pooled_connections_plan_without_bound_values() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::new(format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("t.db").display()
        ));
        let db = crate::store::connect::connect(&url, 2, false)
            .await
            .unwrap();
        let pool = db.get_sqlite_connection_pool();
        let mut pooled = pool.acquire().await.unwrap();
        let conn = pooled.acquire().await.unwrap();
        let mut handle = conn.lock_handle().await.unwrap();
        let mut enabled: c_int = -1;
        // SAFETY: as in `on_connect`; -1 only reads the setting into `enabled`.
        let rc = unsafe {
            ffi::sqlite3_db_config(
                handle.as_raw_handle().as_ptr(),
                ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
                -1 as c_int,
                &mut enabled as *mut c_int,
            )
        };
        assert_eq!((rc, enabled), (ffi::SQLITE_OK, 1));
    }
}
