//! The transparency log in the database on every backend: appends in batches of any size give
//! the same tree as the RFC computed in memory, proofs read from the store verify, and the
//! follower logs exactly the public acts it is configured for, with a signed checkpoint.

use std::collections::HashMap;
use std::sync::Arc;

use amr_kernel::db::Db;
use amr_kernel::events::{self, NewEvent, runner};
use amr_kernel::signing::{KeyId, Keyring, VerifyingKey};
use amr_kernel::testing::{TestDb, backends};
use amr_kernel::translog::merkle::{self, Hash};
use amr_kernel::translog::store::{self, NewEntry};
use amr_kernel::translog::{LogFollower, note};

fn entry(i: u64) -> String {
    format!("{{\"n\":{i}}}")
}

async fn append(db: &Db, from: u64, count: u64) -> store::TreeHead {
    let entries: Vec<NewEntry> = (from..from + count)
        .map(|i| NewEntry {
            timepoint: 1_000_000 + i as i64,
            entry: entry(i),
        })
        .collect();
    let mut tx = db.begin().await.unwrap();
    let head = store::append(&mut tx, &entries).await.unwrap();
    tx.commit().await.unwrap();
    head
}

#[tokio::test]
async fn batches_of_any_size_build_the_rfc_tree_and_every_proof_verifies() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let leaves: Vec<Hash> = (0..300u64)
            .map(|i| merkle::leaf_hash(entry(i).as_bytes()))
            .collect();
        assert_eq!(store::size(&t.db).await.unwrap(), 0);
        assert_eq!(
            store::root_at(&t.db, 0).await.unwrap(),
            merkle::empty_root()
        );
        // Batches that cross the stored level (16) at every offset.
        let mut n = 0u64;
        for count in [1u64, 15, 16, 17, 3, 64, 1, 100, 83] {
            let head = append(&t.db, n, count).await;
            n += count;
            assert_eq!(head.size, n, "{b:?}");
            assert_eq!(
                head.root,
                merkle::root_of(&leaves[..n as usize]),
                "{b:?} size {n}"
            );
        }
        assert_eq!(n, 300);
        assert_eq!(store::size(&t.db).await.unwrap(), 300);
        for size in [
            1u64, 2, 15, 16, 17, 31, 32, 33, 100, 255, 256, 257, 299, 300,
        ] {
            let root = merkle::root_of(&leaves[..size as usize]);
            assert_eq!(
                store::root_at(&t.db, size).await.unwrap(),
                root,
                "{b:?} {size}"
            );
            for index in [0, size / 3, size / 2, size - 1] {
                let p = store::inclusion_proof(&t.db, index, size).await.unwrap();
                // The leaf read with its path, in one statement: the same path, the stored row.
                let (leaf, with_leaf) = store::inclusion_proof_with_leaf(&t.db, index, size)
                    .await
                    .unwrap();
                assert_eq!(with_leaf, p, "{b:?} {index}/{size}");
                assert_eq!(
                    leaf,
                    store::entries(&t.db, index, index + 1).await.unwrap()[0],
                    "{b:?} {index}/{size}"
                );
                assert!(
                    merkle::verify_inclusion(index, size, &leaves[index as usize], &p, &root),
                    "{b:?} inclusion {index}/{size}"
                );
                assert!(!merkle::verify_inclusion(
                    index,
                    size,
                    &merkle::leaf_hash(b"forged"),
                    &p,
                    &root
                ));
            }
            for from in [1u64, size / 2, size] {
                if from == 0 {
                    continue;
                }
                let old = merkle::root_of(&leaves[..from as usize]);
                let p = store::consistency_proof(&t.db, from, size).await.unwrap();
                assert!(
                    merkle::verify_consistency(from, size, &old, &root, &p),
                    "{b:?} consistency {from}->{size}"
                );
            }
        }
        // Out of range: refused with a Chinese-first reason, nothing read.
        let e = store::inclusion_proof(&t.db, 300, 300).await.unwrap_err();
        assert!(e.to_string().contains("应小于树大小"), "{e}");
        let e = store::inclusion_proof(&t.db, 0, 301).await.unwrap_err();
        assert!(e.to_string().contains("超出日志当前大小 300"), "{e}");
        let e = store::inclusion_proof_with_leaf(&t.db, 299, 301)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("超出日志当前大小 300"), "{e}");
        let e = store::inclusion_proof_with_leaf(&t.db, 301, 301)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("应小于树大小"), "{e}");
        let e = store::consistency_proof(&t.db, 1, 301).await.unwrap_err();
        assert!(e.to_string().contains("超出日志当前大小 300"), "{e}");
        let e = store::consistency_proof(&t.db, 301, 301).await.unwrap_err();
        assert!(e.to_string().contains("超出日志当前大小 300"), "{e}");
        let e = store::root_at(&t.db, 301).await.unwrap_err();
        assert!(e.to_string().contains("超出日志当前大小 300"), "{e}");
        assert_eq!(
            store::consistency_proof(&t.db, 300, 300).await.unwrap(),
            Vec::<Hash>::new()
        );
        assert!(store::consistency_proof(&t.db, 0, 10).await.is_err());
        assert!(store::consistency_proof(&t.db, 11, 10).await.is_err());
        // Entries come back as appended.
        let page = store::entries(&t.db, 295, 400).await.unwrap();
        assert_eq!(page.len(), 5);
        assert_eq!(page[0].index, 295);
        assert_eq!(page[0].entry, entry(295));
        assert_eq!(page[0].leaf_hash, leaves[295]);
        let l = store::by_timepoint(&t.db, 1_000_017)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(l.index, 17);
        assert!(store::by_timepoint(&t.db, 5).await.unwrap().is_none());
        // Append-only in the database itself: no leaf or stored hash can be changed or
        // removed (checkpoints likewise: the follower test below), and the refused statement leaves the tree as it was.
        for sql in [
            "UPDATE translog_leaves SET entry = '{}' WHERE idx = 3",
            "DELETE FROM translog_leaves WHERE idx = 299",
            "UPDATE translog_nodes SET hash = hash",
            "DELETE FROM translog_nodes",
        ] {
            let r = amr_kernel::on_conn!(&t.db, c => sqlx::query(sql).execute(c).await.map(|_| ()));
            let e = r.expect_err(sql).to_string();
            assert!(e.contains("append-only"), "{b:?} {sql}: {e}");
        }
        assert_eq!(store::size(&t.db).await.unwrap(), 300);
        assert_eq!(
            store::root_at(&t.db, 300).await.unwrap(),
            merkle::root_of(&leaves)
        );
        assert_eq!(
            store::entries(&t.db, 3, 4).await.unwrap()[0].entry,
            entry(3)
        );
    }
}

/// Every stored subtree hash (`translog_nodes`, key and hash) in key order.
async fn stored_nodes(db: &Db) -> Vec<(i64, Vec<u8>)> {
    amr_kernel::on_conn!(db, c => sqlx::query_as("SELECT id, hash FROM translog_nodes ORDER BY id")
        .fetch_all(c)
        .await
        .unwrap())
}

#[tokio::test]
async fn one_big_batch_and_many_small_ones_store_the_same_tree() {
    // Big enough that one append spans several insert statements of each kind (over 2,000
    // stored subtrees), and small
    // batches that cross the stored level and the statement sizes at odd offsets.
    const N: u64 = 17_000;
    let leaves: Vec<Hash> = (0..N)
        .map(|i| merkle::leaf_hash(entry(i).as_bytes()))
        .collect();
    for b in backends() {
        let whole = TestDb::new(b).await;
        let head = append(&whole.db, 0, N).await;
        assert_eq!(head.size, N);
        assert_eq!(head.root, merkle::root_of(&leaves), "{b:?}");

        let pieces = TestDb::new(b).await;
        let mut n = 0u64;
        for count in [1u64, 2, 13, 4_000, 1, 1_023, 17, 3_000, 943, 8_000] {
            let head = append(&pieces.db, n, count).await;
            n += count;
            assert_eq!(
                head.root,
                merkle::root_of(&leaves[..n as usize]),
                "{b:?} {n}"
            );
        }
        assert_eq!(n, N);

        // The same rows: every stored subtree of 16 leaves or more, and exactly those, with
        // the hash the RFC gives it.
        let nodes = stored_nodes(&whole.db).await;
        assert_eq!(nodes, stored_nodes(&pieces.db).await, "{b:?}");
        let mut want: Vec<(i64, Vec<u8>)> = Vec::new();
        for level in store::STORED_LEVEL..64 {
            let width = 1u64 << level;
            if width > N {
                break;
            }
            for index in 0..N / width {
                let s = (index * width) as usize;
                want.push((
                    ((level as i64) << 40) | index as i64,
                    merkle::root_of(&leaves[s..s + width as usize]).to_vec(),
                ));
            }
        }
        want.sort();
        assert_eq!(nodes, want, "{b:?}");
        assert_eq!(
            store::entries(&whole.db, 0, N).await.unwrap().len(),
            N as usize
        );
        for (a, z) in store::entries(&whole.db, 3_990, 4_030)
            .await
            .unwrap()
            .iter()
            .zip(store::entries(&pieces.db, 3_990, 4_030).await.unwrap())
        {
            assert_eq!(
                (a.index, a.timepoint, &a.entry, a.leaf_hash),
                (z.index, z.timepoint, &z.entry, z.leaf_hash)
            );
            assert_eq!(a.leaf_hash, leaves[a.index as usize]);
        }
        assert_eq!(
            store::by_timepoint(&pieces.db, 1_000_000 + 4_016)
                .await
                .unwrap()
                .unwrap()
                .index,
            4_016
        );

        // The same proofs from both, and they verify against the roots computed in memory.
        for size in [
            1u64, 16, 17, 4_015, 4_016, 4_017, 8_191, 8_192, 8_193, 16_384, N,
        ] {
            let root = merkle::root_of(&leaves[..size as usize]);
            assert_eq!(store::root_at(&pieces.db, size).await.unwrap(), root);
            for index in [0, 15, size / 2, size - 1] {
                if index >= size {
                    continue;
                }
                let p = store::inclusion_proof(&whole.db, index, size)
                    .await
                    .unwrap();
                assert_eq!(
                    p,
                    store::inclusion_proof(&pieces.db, index, size)
                        .await
                        .unwrap()
                );
                assert!(merkle::verify_inclusion(
                    index,
                    size,
                    &leaves[index as usize],
                    &p,
                    &root
                ));
            }
            for from in [1u64, 3, 16, size / 3 + 1, size] {
                if from > size {
                    continue;
                }
                let old = merkle::root_of(&leaves[..from as usize]);
                let p = store::consistency_proof(&whole.db, from, size)
                    .await
                    .unwrap();
                assert_eq!(
                    p,
                    store::consistency_proof(&pieces.db, from, size)
                        .await
                        .unwrap()
                );
                assert!(
                    merkle::verify_consistency(from, size, &old, &root, &p),
                    "{b:?} {from}->{size}"
                );
            }
        }
    }
}

fn key_set(ring: &Keyring) -> HashMap<KeyId, VerifyingKey> {
    [(ring.key_id(), ring.verifying_key())]
        .into_iter()
        .collect()
}

async fn emit(db: &Db, e: NewEvent) -> i64 {
    let mut tx = db.begin().await.unwrap();
    let tp = events::append(&mut tx, e).await.unwrap();
    tx.commit().await.unwrap();
    tp
}

#[tokio::test]
async fn the_follower_logs_the_configured_public_acts_and_signs_a_checkpoint() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let ring = Arc::new(Keyring::from_secret([21u8; 32]));
        let follower = LogFollower::new(ring.clone(), &["registry.entity.", "supervision.plan."]);
        let registered = emit(
            &t.db,
            NewEvent::public(
                "registry.entity.registered",
                serde_json::json!({"uscc": "91370102MA3C000001", "name": "示例公司"}),
            )
            .uscc("91370102MA3C000001")
            .division("370102")
            .actor("account:7"),
        )
        .await;
        // Internal, or public of a kind not configured: not logged.
        emit(
            &t.db,
            NewEvent::internal("registry.entity.flags_set", serde_json::json!({"x": 1})),
        )
        .await;
        emit(
            &t.db,
            NewEvent::public("registry.guide.imported", serde_json::json!({"n": 3})),
        )
        .await;
        let drawn = emit(
            &t.db,
            NewEvent::public("supervision.plan.drawn", serde_json::json!({"plan_id": 4})),
        )
        .await;
        assert_eq!(runner::run_once(&t.db, &follower, 100).await.unwrap(), 4);
        assert_eq!(store::size(&t.db).await.unwrap(), 2, "{b:?}");
        // Caught up: a second run does nothing, the log does not grow.
        assert_eq!(runner::run_once(&t.db, &follower, 100).await.unwrap(), 0);
        assert_eq!(store::size(&t.db).await.unwrap(), 2);

        let first = store::by_timepoint(&t.db, registered)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.index, 0);
        let v: serde_json::Value = serde_json::from_str(&first.entry).unwrap();
        assert_eq!(v["kind"], "registry.entity.registered");
        assert_eq!(v["timepoint"], registered);
        assert_eq!(v["uscc"], "91370102MA3C000001");
        assert_eq!(v["division"], "370102");
        assert_eq!(v["payload"]["name"], "示例公司");
        assert!(v.get("actor").is_none(), "the actor is not published");
        assert!(
            first
                .entry
                .starts_with("{\"division\":\"370102\",\"kind\":")
        );
        assert_eq!(
            store::by_timepoint(&t.db, drawn)
                .await
                .unwrap()
                .unwrap()
                .index,
            1
        );

        let cp = store::latest_checkpoint(&t.db).await.unwrap().unwrap();
        assert_eq!(cp.size, 2);
        let verified = note::verify_note(&cp.note, &key_set(&ring)).unwrap();
        assert_eq!(verified.checkpoint.size, 2);
        assert_eq!(verified.checkpoint.origin, note::DEFAULT_ORIGIN);
        assert_eq!(
            verified.checkpoint.root,
            store::root_at(&t.db, 2).await.unwrap()
        );

        // A later batch: a new checkpoint, the old one kept, and the new tree extends it.
        emit(
            &t.db,
            NewEvent::public("registry.entity.changed", serde_json::json!({"fields": []})),
        )
        .await;
        assert_eq!(runner::run_once(&t.db, &follower, 100).await.unwrap(), 1);
        let newest = store::latest_checkpoint(&t.db).await.unwrap().unwrap();
        assert_eq!(newest.size, 3);
        assert_eq!(store::checkpoint_at(&t.db, 2).await.unwrap().unwrap(), cp);
        let p = store::consistency_proof(&t.db, 2, 3).await.unwrap();
        assert!(merkle::verify_consistency(2, 3, &cp.root, &newest.root, &p));
        // A signed checkpoint can be neither rewritten nor removed.
        for sql in [
            "UPDATE translog_checkpoints SET note = 'forged' WHERE tree_size = 2",
            "DELETE FROM translog_checkpoints WHERE tree_size = 3",
        ] {
            let r = amr_kernel::on_conn!(&t.db, c => sqlx::query(sql).execute(c).await.map(|_| ()));
            let e = r.expect_err(sql).to_string();
            assert!(e.contains("append-only"), "{b:?} {sql}: {e}");
        }
        assert_eq!(store::checkpoint_at(&t.db, 2).await.unwrap().unwrap(), cp);
        assert_eq!(
            store::latest_checkpoint(&t.db).await.unwrap().unwrap(),
            newest
        );
    }
}
