//! The watch that lets the server answer reads from memory, on the test's database (SQLite,
//! or Postgres when `MEETPLANE_TEST_DATABASE_URL` names one): it must move on every commit
//! made elsewhere, and hold still long enough between commits for reads to be kept.
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Instant,
};

use meetplane::{
    config::DatabaseUrl,
    store::{change_watch::ChangeWatch, connect, read_cache::ReadCache},
};
use sea_orm::ConnectionTrait;

use crate::helpers::TestDb;

#[tokio::test]
async fn the_watch_moves_on_a_commit_by_another_connection() {
    let db = TestDb::create().await;
    let url = DatabaseUrl::new(db.url());
    let writer = connect::connect(&url, 2, false).await.unwrap();
    writer
        .execute_unprepared("CREATE TABLE watched (x INTEGER)")
        .await
        .unwrap();
    let watch = Arc::new(ChangeWatch::for_database(&url, false).await);

    // Others keep asking all along, so an ask usually finds a query already running (on
    // Postgres): the answer must still come from a query that began after the commit.
    let asking = Arc::new(AtomicBool::new(true));
    let askers: Vec<_> = (0..4)
        .map(|_| {
            let (watch, asking) = (watch.clone(), asking.clone());
            tokio::spawn(async move {
                while asking.load(Ordering::Relaxed) {
                    watch.version().await;
                    // SQLite's watch answers without waiting; let the test run too.
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for i in 0..20 {
        let before = watch.version().await.expect("a version");
        writer
            .execute_unprepared(&format!("INSERT INTO watched VALUES ({i})"))
            .await
            .unwrap();
        let after = watch.version().await.expect("a version");
        assert_ne!(after, before, "commit {i} not seen");
    }
    asking.store(false, Ordering::Relaxed);
    for asker in askers {
        asker.await.unwrap();
    }

    // A request's later reads may take the version an earlier query read after the request
    // arrived, and must not once the commit came before the moment asked about.
    let arrived = Instant::now();
    let first = watch.version_since(arrived).await.expect("a version");
    assert_eq!(watch.version_since(arrived).await, Some(first));
    writer
        .execute_unprepared("INSERT INTO watched VALUES (100)")
        .await
        .unwrap();
    assert_ne!(watch.version_since(Instant::now()).await, Some(first));

    // On Postgres any writer in the cluster moves the snapshot (other tests run in parallel),
    // so a kept read is looked for over a few tries rather than demanded on the first.
    let cache = ReadCache::<u8, i64>::new(8, |_| 1);
    let loads = AtomicUsize::new(0);
    let load = || async {
        loads.fetch_add(1, Ordering::SeqCst);
        Ok::<_, ()>(1)
    };
    let kept = {
        let mut kept = false;
        for _ in 0..100 {
            let before = loads.load(Ordering::SeqCst);
            cache
                .get_or_load(watch.version().await, 1, load())
                .await
                .unwrap();
            cache
                .get_or_load(watch.version().await, 1, load())
                .await
                .unwrap();
            if loads.load(Ordering::SeqCst) - before == 1 {
                kept = true;
                break;
            }
        }
        kept
    };
    assert!(kept, "no read was ever answered from memory");
    writer.close().await.unwrap();
}
