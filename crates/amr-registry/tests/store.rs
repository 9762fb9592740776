//! The registry store, on every backend (SQLite always; PostgreSQL when AMR_TEST_PG is set —
//! see `amr_kernel::testing`).

use std::collections::HashSet;

use chrono::NaiveDate;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::Scope;
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_kernel::db::{Backend, Db};
use amr_kernel::error::AppError;
use amr_kernel::events;
use amr_kernel::testing::{TestDb, backends};
use amr_registry::model::{EntityType, NewEntity, PublicEntity, Status};
use amr_registry::store;

/// Reads, lists and changes within a jurisdiction.
#[path = "store/scoped.rs"]
mod scoped;

async fn test_db(b: Backend) -> TestDb {
    TestDb::with_sets(
        b,
        &[
            amr_kernel::db::kernel_migrations(),
            amr_registry::migrations(),
        ],
    )
    .await
}

fn officer() -> Actor {
    Actor {
        kind: "account",
        id: Some(7),
        name: "officer7".into(),
        ip: None,
    }
}

/// A valid entity registered at `county`, in `division` (a county or town code).
fn entity(rng: &mut ChaCha8Rng, county: &str, division: &str, n: usize) -> NewEntity {
    let uscc = Uscc::generate(RegistrationType::Enterprise, county, rng).unwrap();
    NewEntity {
        uscc: uscc.to_string(),
        name: format!("济南示例{n}号科技有限公司"),
        entity_type: EntityType::Enterprise,
        legal_rep: "张三丰".into(),
        legal_rep_id: Some("11010519491231002X".into()),
        phone: Some("13912345678".into()),
        capital_yuan: Some(1_000_000 + n as i64),
        established: NaiveDate::from_ymd_opt(2020, 5, 17).unwrap(),
        address: format!("泉城路{n}号"),
        division: division.into(),
        scope: "软件开发".into(),
        industry: "6513".into(),
        status: Status::Active,
    }
}

fn individual(rng: &mut ChaCha8Rng, division: &str) -> NewEntity {
    let uscc = Uscc::generate(RegistrationType::IndividualBusiness, &division[..6], rng).unwrap();
    NewEntity {
        uscc: uscc.to_string(),
        name: "历下区张三丰小吃店".into(),
        entity_type: EntityType::IndividualBusiness,
        capital_yuan: None,
        industry: "6210".into(),
        ..entity(rng, "370102", division, 0)
    }
}

async fn create(db: &Db, e: &NewEntity) -> Result<amr_registry::model::Entity, AppError> {
    let mut tx = db.begin().await?;
    let out = store::create(&mut tx, &officer(), e).await?;
    tx.commit().await?;
    Ok(out)
}

async fn count(db: &Db, table: &str) -> i64 {
    let sql = format!("SELECT count(*) FROM {table}");
    amr_kernel::on_conn!(db, c => sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(c).await.unwrap())
}

#[tokio::test]
async fn create_get_and_mask_for_the_public() {
    for b in backends() {
        let t = test_db(b).await;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let e = entity(&mut rng, "370102", "370102001", 1);
        let stored = create(&t.db, &e).await.unwrap();
        assert_eq!(stored.to_new(), e, "{b:?}");
        let got = store::get_public(&t.db, &e.uscc.to_lowercase())
            .await
            .unwrap();
        assert_eq!(got.to_new(), e, "{b:?}");
        assert_eq!(got.established, e.established);
        let public = serde_json::to_string(&PublicEntity::from(&got)).unwrap();
        assert!(public.contains("张三丰"), "{public}");
        assert!(!public.contains("11010519491231002X") && !public.contains("13912345678"));
        assert!(matches!(
            store::get_public(&t.db, "91370102MA3C4XYZ1Q").await,
            Err(AppError::NotFound)
        ));

        let ib = individual(&mut rng, "370102001");
        create(&t.db, &ib).await.unwrap();
        let got = store::get_public(&t.db, &ib.uscc).await.unwrap();
        assert_eq!(got.legal_rep, "张三丰");
        let p = PublicEntity::from(&got);
        assert_eq!(p.legal_rep, "张**");

        // One public event per registration, carrying the public view; one audit row each.
        let evs = events::public_after(&t.db, 0, 10).await.unwrap();
        assert_eq!(evs.len(), 2, "{b:?}");
        assert_eq!(evs[0].kind, "registry.entity.registered");
        assert_eq!(evs[0].uscc.as_deref(), Some(e.uscc.as_str()));
        assert_eq!(evs[0].division.as_deref(), Some("370102001"));
        assert_eq!(evs[0].actor.as_deref(), Some("account:7"));
        assert_eq!(evs[1].payload_json()["legal_rep"], "张**");
        assert!(!evs[1].payload.contains("11010519491231002X"));
        let log = audit::list(&t.db, &Scope::prefix("370102"), None, 10)
            .await
            .unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!(log[1].action, "entity.register");
        let after = log[1].after_state.as_deref().unwrap();
        assert!(
            after.contains(&e.uscc) && after.contains("张三丰"),
            "{after}"
        );
        assert!(!after.contains("11010519491231002X") && !after.contains("13912345678"));
    }
}

#[tokio::test]
async fn get_many_reads_in_chunks_within_the_scope() {
    for b in backends() {
        let t = test_db(b).await;
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut inside = Vec::new();
        for n in 0..3 {
            inside.push(
                create(&t.db, &entity(&mut rng, "370102", "370102001", n))
                    .await
                    .unwrap(),
            );
        }
        let outside = create(&t.db, &entity(&mut rng, "370103", "370103", 9))
            .await
            .unwrap();
        // More USCCs than one query takes (499), the known ones spread over the chunks, with
        // a repeat, a lower-case one and unknown ones.
        let unknown: Vec<String> = (0..1200).map(|k| format!("9137XXXX{k:010}")).collect();
        let lower = inside[1].uscc.to_lowercase();
        let mut asked: Vec<&str> = unknown.iter().map(String::as_str).collect();
        asked.insert(0, &inside[0].uscc);
        asked.insert(600, &lower);
        asked.insert(1100, &inside[2].uscc);
        asked.push(&outside.uscc);
        asked.push(&inside[0].uscc);

        let mut want: Vec<&str> = inside.iter().map(|e| e.uscc.as_str()).collect();
        want.push(&outside.uscc);
        want.sort_unstable();
        let got = store::get_many(&t.db, &Scope::all(), &asked).await.unwrap();
        let got_usccs: Vec<&str> = got.iter().map(|e| e.uscc.as_str()).collect();
        assert_eq!(got_usccs, want, "{b:?}");
        for e in &got {
            let one = store::get_scoped(&t.db, &Scope::all(), &e.uscc)
                .await
                .unwrap();
            assert_eq!(e.to_new(), one.to_new(), "{b:?}");
        }

        // Within a jurisdiction only its entities.
        let got = store::get_many(&t.db, &Scope::prefix("370102"), &asked)
            .await
            .unwrap();
        let mut want: Vec<&str> = inside.iter().map(|e| e.uscc.as_str()).collect();
        want.sort_unstable();
        assert_eq!(
            got.iter().map(|e| e.uscc.as_str()).collect::<Vec<_>>(),
            want,
            "{b:?}"
        );
        assert!(
            store::get_many(&t.db, &Scope::all(), &[])
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn a_duplicate_code_is_a_conflict() {
    for b in backends() {
        let t = test_db(b).await;
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let e = entity(&mut rng, "370102", "370102", 1);
        create(&t.db, &e).await.unwrap();
        let mut again = entity(&mut rng, "370102", "370103", 2);
        again.uscc = e.uscc.clone();
        match create(&t.db, &again).await {
            Err(AppError::Conflict(m)) => {
                assert!(
                    m.starts_with("统一社会信用代码") && m.contains(&e.uscc),
                    "{m}"
                )
            }
            other => panic!("{b:?}: {other:?}"),
        }
        assert_eq!(count(&t.db, "entities").await, 1);
        assert_eq!(events::head(&t.db).await.unwrap(), 1, "{b:?}");
    }
}

#[tokio::test]
async fn invalid_rows_are_refused_naming_their_fields() {
    for b in backends() {
        let t = test_db(b).await;
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut e = entity(&mut rng, "370102", "370102", 1);
        e.division = "370100".into();
        e.industry = "65".into();
        e.legal_rep_id = Some("110105194912310021".into());
        match create(&t.db, &e).await {
            Err(AppError::BadRequest { field, message }) => {
                assert_eq!(field, "legal_rep_id", "{b:?}");
                assert!(message.contains("division: ") && message.contains("industry: "));
            }
            other => panic!("{b:?}: {other:?}"),
        }
        let mut ib = individual(&mut rng, "370102");
        ib.capital_yuan = Some(10);
        let err = create(&t.db, &ib).await.unwrap_err();
        assert!(matches!(&err, AppError::BadRequest { field, .. } if field == "capital_yuan"));
        assert_eq!(count(&t.db, "entities").await, 0);
        assert_eq!(events::head(&t.db).await.unwrap(), 0);
    }
}

#[tokio::test]
async fn batches_skip_existing_rows_and_write_one_event_each() {
    for b in backends() {
        let t = test_db(b).await;
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        // More than one SQLite chunk, and text that COPY must escape.
        let mut rows: Vec<NewEntity> = (0..2_500)
            .map(|n| entity(&mut rng, "370102", "370102001", n))
            .collect();
        rows[0].scope = "第一行\t制表\\反斜杠\n第二行".into();
        rows[1].legal_rep_id = None;
        rows[1].phone = None;
        rows[1].capital_yuan = None;
        let actor = Actor::system();
        let first = store::insert_batch(&t.db, &actor, &rows[..1_500])
            .await
            .unwrap();
        assert_eq!(
            (first.inserted, first.skipped_existing),
            (1_500, 0),
            "{b:?}"
        );
        let mut second_batch = rows[1_000..].to_vec();
        second_batch.push(entity(&mut rng, "370102", "370103", 9_999));
        second_batch.push(rows[2_000].clone()); // repeated within the batch
        let second = store::insert_batch(&t.db, &actor, &second_batch)
            .await
            .unwrap();
        assert_eq!(
            (second.inserted, second.skipped_existing),
            (1_001, 501),
            "{b:?}"
        );
        let nothing = store::insert_batch(&t.db, &actor, &rows[..10])
            .await
            .unwrap();
        assert_eq!((nothing.inserted, nothing.skipped_existing), (0, 10));
        assert_eq!(count(&t.db, "entities").await, 2_501);
        let got = store::get_public(&t.db, &rows[0].uscc).await.unwrap();
        assert_eq!(got.to_new(), rows[0], "{b:?}");
        assert_eq!(
            store::get_public(&t.db, &rows[1].uscc)
                .await
                .unwrap()
                .to_new(),
            rows[1]
        );

        let evs = events::all_after(&t.db, 0, 10).await.unwrap();
        assert_eq!(
            evs.len(),
            2,
            "{b:?}: one event per batch that inserted rows"
        );
        assert!(
            evs.iter()
                .all(|e| e.kind == "registry.entities.imported" && !e.public)
        );
        assert_eq!(evs[0].division.as_deref(), Some("370102001"));
        assert_eq!(evs[1].division.as_deref(), Some("3701"));
        let p = evs[1].payload_json();
        assert_eq!(p["count"], 1_001);
        let usccs: HashSet<&str> = p["usccs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(usccs.len(), 1_001);
        assert!(usccs.contains(rows[1_500].uscc.as_str()));
        assert!(!usccs.contains(rows[1_000].uscc.as_str()));
        let log = audit::list(&t.db, &Scope::all(), None, 10).await.unwrap();
        assert_eq!(log.len(), 2);
        assert!(log.iter().all(|a| a.action == "entity.import"));
        assert_eq!(log[0].after_state.as_deref(), Some(r#"{"count":1001}"#));
        assert!(log[0].target_id.contains(".."));
    }
}

#[tokio::test]
async fn import_jobs_record_progress_with_their_batches() {
    for b in backends() {
        let t = test_db(b).await;
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        assert_eq!(store::job_get(&t.db, "k1").await.unwrap(), None);
        let job = store::job_start(&t.db, "k1", "entities.csv").await.unwrap();
        assert_eq!(
            (job.rows_done, job.rows_failed, job.finished_at),
            (0, 0, None)
        );
        let rows: Vec<NewEntity> = (0..20)
            .map(|n| entity(&mut rng, "370102", "370102", n))
            .collect();
        // A batch and its progress commit together...
        let mut tx = t.db.begin().await.unwrap();
        store::insert_batch_in(&mut tx, &Actor::cli(), &rows[..10])
            .await
            .unwrap();
        store::job_progress(&mut tx, "k1", 11, 1).await.unwrap();
        tx.commit().await.unwrap();
        // ...or not at all.
        let mut tx = t.db.begin().await.unwrap();
        store::insert_batch_in(&mut tx, &Actor::cli(), &rows[10..])
            .await
            .unwrap();
        store::job_progress(&mut tx, "k1", 21, 1).await.unwrap();
        drop(tx);
        let resumed = store::job_start(&t.db, "k1", "entities.csv").await.unwrap();
        assert_eq!((resumed.rows_done, resumed.rows_failed), (11, 1), "{b:?}");
        assert_eq!(resumed.started_at, job.started_at);
        assert_eq!(count(&t.db, "entities").await, 10);
        let mut tx = t.db.begin().await.unwrap();
        let out = store::insert_batch_in(&mut tx, &Actor::cli(), &rows)
            .await
            .unwrap();
        store::job_progress(&mut tx, "k1", 21, 1).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!((out.inserted, out.skipped_existing), (10, 10));
        let done = store::job_finish(&t.db, "k1").await.unwrap();
        assert!(done.finished_at.is_some());
        assert_eq!(
            store::job_finish(&t.db, "k1").await.unwrap().finished_at,
            done.finished_at
        );
        let mut tx = t.db.begin().await.unwrap();
        assert!(matches!(
            store::job_progress(&mut tx, "nope", 1, 0).await,
            Err(AppError::NotFound)
        ));
    }
}

async fn entity_indexes(db: &Db) -> Vec<String> {
    let mut names: Vec<String> = match db {
        Db::Sqlite(p, _) => sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'entities' \
             AND name NOT LIKE 'sqlite_autoindex%'",
        )
        .fetch_all(p)
        .await
        .unwrap(),
        Db::Postgres(p) => sqlx::query_scalar(
            "SELECT indexname::text FROM pg_indexes WHERE tablename = 'entities' \
             AND indexname <> 'entities_pkey'",
        )
        .fetch_all(p)
        .await
        .unwrap(),
    };
    names.sort();
    names
}

#[tokio::test]
async fn a_bulk_load_drops_the_secondary_indexes_only_on_an_empty_table_and_restores_them() {
    for b in backends() {
        let t = test_db(b).await;
        let all = vec!["entities_division".to_string(), "entities_name".to_string()];
        assert_eq!(entity_indexes(&t.db).await, all, "{b:?}: as migrated");
        assert!(store::bulk_load_begin(&t.db).await.unwrap(), "{b:?}");
        assert!(entity_indexes(&t.db).await.is_empty(), "{b:?}");
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let rows: Vec<NewEntity> = (0..300)
            .map(|n| entity(&mut rng, "370102", "370102001", n))
            .collect();
        store::insert_batch(&t.db, &Actor::system(), &rows)
            .await
            .unwrap();
        // A load killed here leaves the indexes missing: the next load goes on in bulk mode.
        assert!(store::bulk_load_begin(&t.db).await.unwrap(), "{b:?}");
        assert!(store::ensure_indexes(&t.db).await.unwrap(), "{b:?}");
        assert_eq!(entity_indexes(&t.db).await, all, "{b:?}");
        assert!(
            !store::ensure_indexes(&t.db).await.unwrap(),
            "nothing to do"
        );
        // A registry with entities and its indexes keeps them.
        assert!(!store::bulk_load_begin(&t.db).await.unwrap(), "{b:?}");
        assert_eq!(entity_indexes(&t.db).await, all, "{b:?}");
        assert_eq!(count(&t.db, "entities").await, 300);
    }
}

/// The lookup's one statement (on SQLite read on the calling thread, `amr_kernel::db::here`)
/// gives the entity the pool gives, whichever way the row was written: registered, loaded in
/// a batch (empty optional fields), changed (a later `updated_at`); and a change that commits
/// is seen by the next lookup.
#[tokio::test]
async fn the_lookup_statement_reads_what_the_pool_reads() {
    for b in backends() {
        let t = test_db(b).await;
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let one = entity(&mut rng, "370102", "370102001", 1);
        create(&t.db, &one).await.unwrap();
        let mut bare = entity(&mut rng, "370102", "370102001", 2);
        bare.legal_rep_id = None;
        bare.phone = None;
        bare.capital_yuan = None;
        store::insert_batch(&t.db, &Actor::system(), std::slice::from_ref(&bare))
            .await
            .unwrap();
        for u in [&one.uscc, &bare.uscc] {
            let (got, parts) = store::get_public_with_parts(&t.db, &u.to_lowercase())
                .await
                .unwrap();
            assert_eq!(got, store::get_public(&t.db, u).await.unwrap(), "{b:?}");
            assert_eq!(parts, store::RecordParts::default(), "{b:?}");
        }

        let mut tx = t.db.begin().await.unwrap();
        let rename = store::EntityChange {
            name: Some("济南改名科技有限公司".into()),
            ..Default::default()
        };
        store::change(&mut tx, &officer(), &Scope::all(), &one.uscc, &rename)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let (got, parts) = store::get_public_with_parts(&t.db, &one.uscc)
            .await
            .unwrap();
        assert_eq!(got.name, "济南改名科技有限公司", "{b:?}");
        assert_eq!(got, store::get_public(&t.db, &one.uscc).await.unwrap());
        assert!(got.updated_at > got.created_at);
        assert!(parts.history && !parts.premises, "{b:?}: {parts:?}");
        let history = store::history(&t.db, &Scope::all(), &one.uscc)
            .await
            .unwrap();
        let pooled: Vec<store::EntityChangeRow> = amr_kernel::on_conn!(&t.db, c => sqlx::query_as(
            "SELECT id, uscc, timepoint, changed_at, field, before_value, after_value, actor, \
             actor_name, application_id FROM entity_changes WHERE uscc = $1 ORDER BY id DESC",
        )
        .bind(&one.uscc)
        .fetch_all(c)
        .await
        .unwrap());
        assert_eq!(history.len(), 1, "{b:?}");
        assert_eq!(history, pooled, "{b:?}");
        assert!(matches!(
            store::get_public_with_parts(&t.db, "91370102MA3C4XYZ1Q").await,
            Err(AppError::NotFound)
        ));
    }
}
