//! Measures the transparency log: appends per second in batches, and the time of inclusion
//! and consistency proofs (read from the store, then verified) as the log grows.
//!
//! ```text
//! cargo run --release -p amr-kernel --example translog_bench -- URL TOTAL [BATCH [sign]]
//! cargo run --release -p amr-kernel --example translog_bench -- sqlite:///tmp/log.db 10000000 10000
//! cargo run --release -p amr-kernel --example translog_bench -- sqlite:///tmp/log.db 1000000 256 sign
//! cargo run --release -p amr-kernel --example translog_bench -- sqlite:///tmp/log.db proofs 3
//! ```
//!
//! `URL` must name an empty database (it is migrated here). With `sign`, every batch also
//! signs and stores a checkpoint in its transaction, as the log's follower does (whose batches
//! hold at most 256 events). Proofs are timed at every power of
//! ten of the tree size and at `TOTAL`: 1,000 inclusion proofs of random leaves against the
//! whole tree and 1,000 consistency proofs from random older sizes, each read and verified.
//! With `proofs`, nothing is appended: the proofs are timed `ROUNDS` times against the log
//! already in the database (to compare builds on one large file).

use std::time::{Duration, Instant};

use amr_kernel::db::{Db, run_migrations};
use amr_kernel::signing::Keyring;
use amr_kernel::translog::merkle;
use amr_kernel::translog::store::{self, NewEntry};
use rand::{RngExt, SeedableRng};

fn entry(i: u64) -> String {
    // About the size of a real entry (a registry.entity.changed event).
    format!(
        "{{\"division\":\"370102\",\"kind\":\"registry.entity.changed\",\"payload\":{{\"fields\":[\"scope\"],\
         \"uscc\":\"91370102MA3C{i:06}\"}},\"time\":\"2026-11-26T22:00:00.000000Z\",\"timepoint\":{i},\
         \"uscc\":\"91370102MA3C{i:06}\"}}"
    )
}

async fn time_proofs(db: &Db, size: u64, rng: &mut rand::rngs::StdRng) {
    let root = store::root_at(db, size).await.unwrap();
    let samples = 1000;
    let mut inclusion = Duration::ZERO;
    let mut hashes = 0usize;
    for _ in 0..samples {
        let index = rng.random_range(0..size);
        let t = Instant::now();
        // The leaf and its path, as the proof endpoint reads them.
        let (leaf, path) = store::inclusion_proof_with_leaf(db, index, size)
            .await
            .unwrap();
        assert_eq!(leaf.index, index);
        assert!(merkle::verify_inclusion(
            index,
            size,
            &leaf.leaf_hash,
            &path,
            &root
        ));
        inclusion += t.elapsed();
        hashes += path.len();
    }
    let mut consistency = Duration::ZERO;
    let mut checked = 0u32;
    for _ in 0..samples {
        let from = rng.random_range(1..=size);
        let old = store::root_at(db, from).await.unwrap();
        let t = Instant::now();
        let proof = store::consistency_proof(db, from, size).await.unwrap();
        assert!(merkle::verify_consistency(from, size, &old, &root, &proof));
        consistency += t.elapsed();
        checked += 1;
    }
    println!(
        "| {size:>12} | {:>6.1} | {:>8.3} | {:>8.3} |",
        hashes as f64 / samples as f64,
        inclusion.as_secs_f64() * 1000.0 / samples as f64,
        consistency.as_secs_f64() * 1000.0 / f64::from(checked),
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!(
            "usage: translog_bench URL TOTAL [BATCH [sign]] | translog_bench URL proofs [ROUNDS]"
        );
        std::process::exit(2);
    }
    let batch: u64 = args
        .get(3)
        .map(|b| b.parse().expect("BATCH"))
        .unwrap_or(10_000);
    let sign = match args.get(4).map(String::as_str) {
        None => false,
        Some("sign") => true,
        Some(other) => panic!("the fourth argument is `sign` or nothing, not {other:?}"),
    };
    let keys = Keyring::from_secret([7u8; 32]);
    let db = Db::connect(&args[1]).await.expect("connect");
    run_migrations(&db).await.expect("migrate");
    if args[2] == "proofs" {
        // Proofs only, against the whole log already in the database, `ROUNDS` times.
        let rounds: u32 = args.get(3).map_or(1, |r| r.parse().expect("ROUNDS"));
        let size = store::size(&db).await.unwrap();
        assert!(size > 0, "the database holds no log");
        let mut rng = rand::rngs::StdRng::seed_from_u64(6962);
        println!(
            "backend {}, proofs against the {size} leaves stored",
            db.backend().name()
        );
        println!("| tree size    | hashes | incl. ms | cons. ms |");
        println!("|---|---|---|---|");
        for _ in 0..rounds {
            time_proofs(&db, size, &mut rng).await;
        }
        return;
    }
    assert_eq!(
        store::size(&db).await.unwrap(),
        0,
        "the database must be empty"
    );
    let total: u64 = args[2].parse().expect("TOTAL is a number");
    let mut rng = rand::rngs::StdRng::seed_from_u64(6962);
    let mut milestones: Vec<u64> = (3..=12)
        .map(|p| 10u64.pow(p))
        .filter(|m| *m < total)
        .collect();
    milestones.push(total);
    println!(
        "backend {}, {total} leaves in batches of {batch}{}",
        db.backend().name(),
        if sign {
            ", a checkpoint signed each batch"
        } else {
            ""
        }
    );
    println!("| tree size    | hashes | incl. ms | cons. ms |");
    println!("|---|---|---|---|");
    let started = Instant::now();
    let mut appending = Duration::ZERO;
    let mut n = 0u64;
    let mut next = 0;
    while n < total {
        let count = batch.min(total - n).min(milestones[next] - n);
        let entries: Vec<NewEntry> = (n..n + count)
            .map(|i| NewEntry {
                timepoint: i as i64 + 1,
                entry: entry(i),
            })
            .collect();
        let t = Instant::now();
        let mut tx = db.begin().await.unwrap();
        let head = store::append(&mut tx, &entries).await.unwrap();
        if sign {
            store::write_checkpoint(&mut tx, &keys, "bench/log", head)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        appending += t.elapsed();
        n += count;
        if n.is_multiple_of(1_000_000) {
            eprintln!(
                "  {n} leaves, {:.0} appends/s so far, {:.0} s",
                n as f64 / appending.as_secs_f64(),
                started.elapsed().as_secs_f64()
            );
        }
        if n == milestones[next] {
            time_proofs(&db, n, &mut rng).await;
            next += 1;
        }
    }
    println!(
        "appended {n} leaves in {:.1} s of appending: {:.0} appends/s (batches of {batch}, one transaction each)",
        appending.as_secs_f64(),
        n as f64 / appending.as_secs_f64()
    );
}
