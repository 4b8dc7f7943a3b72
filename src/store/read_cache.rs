//! Reads answered from memory while the database has not changed (see `change_watch`).
//!
//! One cache holds the results of one kind of read, all loaded at the same database version;
//! the first lookup at a newer version empties it. Caching is exact or absent: a result is
//! stored under the version read before it was loaded, and served only at that version.
use std::{collections::HashMap, future::Future, hash::Hash, sync::Mutex};

#[derive(Debug)]
pub struct ReadCache<K, V> {
    slot: Mutex<Slot<K, V>>,
    budget: usize,
    weigh: fn(&V) -> usize,
}

#[derive(Debug)]
struct Slot<K, V> {
    version: i64,
    entries: HashMap<K, V>,
    /// What the entries weigh together.
    weight: usize,
}

impl<K: Eq + Hash, V: Clone> ReadCache<K, V> {
    /// Results weighing at most `budget` together, each by `weigh` (at least 1); past it a new
    /// result is not kept (the cache empties on the next write anyway, so there is nothing to
    /// evict by age). The budget bounds what one client asking for many distinct pages
    /// between two writes can make the process hold.
    pub fn new(budget: usize, weigh: fn(&V) -> usize) -> Self {
        Self {
            slot: Mutex::new(Slot {
                version: i64::MIN,
                entries: HashMap::new(),
                weight: 0,
            }),
            budget,
            weigh,
        }
    }

    /// The result of `load` for `key`, from memory when the database has not changed since
    /// it was stored. `version` is the watch's version read before `load` starts (`None`: not
    /// known, load without keeping). Errors are never stored.
    pub async fn get_or_load<E, F>(&self, version: Option<i64>, key: K, load: F) -> Result<V, E>
    where
        F: Future<Output = Result<V, E>>,
    {
        let Some(version) = version else {
            return load.await;
        };
        if let Some(hit) = self.get(version, &key) {
            return Ok(hit);
        }
        let value = load.await?;
        self.put(version, key, value.clone());
        Ok(value)
    }

    fn get(&self, version: i64, key: &K) -> Option<V> {
        let mut slot = self.slot.lock().ok()?;
        if slot.version != version {
            slot.version = version;
            slot.entries.clear();
            slot.weight = 0;
            return None;
        }
        slot.entries.get(key).cloned()
    }

    fn put(&self, version: i64, key: K, value: V) {
        let Ok(mut slot) = self.slot.lock() else {
            return;
        };
        // Another load may have seen a newer version meanwhile; this result is then older
        // than what the cache holds and must not join it.
        let weight = (self.weigh)(&value).max(1);
        if slot.version == version
            && slot.weight + weight <= self.budget
            && !slot.entries.contains_key(&key)
        {
            slot.entries.insert(key, value);
            slot.weight += weight;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use rusqlite::Connection;

    use super::*;
    use crate::store::change_watch::ChangeWatch;

    #[tokio::test]
    async fn served_from_memory_until_a_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cached.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t (x INTEGER);")
            .unwrap();
        let watch = ChangeWatch::sqlite(&path);
        let cache = ReadCache::<&str, i64>::new(8, |_| 1);
        let loads = AtomicUsize::new(0);
        let count = || async {
            loads.fetch_add(1, Ordering::SeqCst);
            Connection::open(&path)
                .unwrap()
                .query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))
        };
        assert_eq!(
            cache.get_or_load(watch.version().await, "n", count()).await,
            Ok(0)
        );
        assert_eq!(
            cache.get_or_load(watch.version().await, "n", count()).await,
            Ok(0)
        );
        assert_eq!(
            loads.load(Ordering::SeqCst),
            1,
            "the second read came from memory"
        );
        writer.execute("INSERT INTO t VALUES (1)", []).unwrap();
        assert_eq!(
            cache.get_or_load(watch.version().await, "n", count()).await,
            Ok(1)
        );
        assert_eq!(loads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn errors_and_results_past_the_budget_are_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cached.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA journal_mode=WAL;")
            .unwrap();
        let watch = ChangeWatch::sqlite(&path);
        // Each result weighs its value: 7 fits a budget of 10, 8 more does not.
        let cache = ReadCache::<u8, u8>::new(10, |v| usize::from(*v));
        let failed = cache
            .get_or_load(watch.version().await, 1, async { Err::<u8, &str>("down") })
            .await;
        assert_eq!(failed, Err("down"));
        assert_eq!(
            cache
                .get_or_load(watch.version().await, 1, async { Ok::<_, ()>(7) })
                .await,
            Ok(7)
        );
        assert_eq!(
            cache
                .get_or_load(watch.version().await, 2, async { Ok::<_, ()>(8) })
                .await,
            Ok(8)
        );
        assert_eq!(
            cache
                .get_or_load(watch.version().await, 1, async { Ok::<_, ()>(9) })
                .await,
            Ok(7)
        );
        assert_eq!(
            cache
                .get_or_load(watch.version().await, 2, async { Ok::<_, ()>(10) })
                .await,
            Ok(10),
            "the second result was past the budget"
        );
    }

    #[tokio::test]
    async fn without_a_watch_every_read_loads() {
        let cache = ReadCache::<u8, u8>::new(8, |_| 1);
        let none = ChangeWatch::none();
        assert_eq!(
            cache
                .get_or_load(none.version().await, 1, async { Ok::<_, ()>(1) })
                .await,
            Ok(1)
        );
        assert_eq!(
            cache
                .get_or_load(none.version().await, 1, async { Ok::<_, ()>(2) })
                .await,
            Ok(2)
        );
    }
}
