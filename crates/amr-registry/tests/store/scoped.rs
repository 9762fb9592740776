//! Reads, lists and changes within a jurisdiction (part of the `store` test binary).

use std::collections::HashSet;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::Scope;
use amr_kernel::error::AppError;
use amr_kernel::events;
use amr_kernel::testing::backends;
use amr_registry::model::{EntityType, NewEntity, Status};
use amr_registry::store::{self, EntityChange, EntityFilter};

use super::{count, create, entity, individual, officer, test_db};

#[tokio::test]
async fn each_jurisdiction_sees_and_changes_only_its_own() {
    for b in backends() {
        let t = test_db(b).await;
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let lixia = create(&t.db, &entity(&mut rng, "370102", "370102001", 1))
            .await
            .unwrap();
        let shizhong = create(&t.db, &entity(&mut rng, "370103", "370103", 2))
            .await
            .unwrap();
        let city = Scope::prefix("3701");
        let county = Scope::prefix("370102");
        let rename = EntityChange {
            name: Some("济南新名称有限公司".into()),
            ..EntityChange::default()
        };
        for (scope, own, other) in [(&county, &lixia, &shizhong), (&city, &lixia, &shizhong)] {
            assert_eq!(
                store::get_scoped(&t.db, scope, &own.uscc)
                    .await
                    .unwrap()
                    .uscc,
                own.uscc
            );
            assert!(
                store::history(&t.db, scope, &own.uscc)
                    .await
                    .unwrap()
                    .is_empty()
            );
            let seen = store::list_scoped(&t.db, scope, &EntityFilter::default(), None, 10)
                .await
                .unwrap();
            let in_city = *scope == city;
            assert_eq!(seen.len(), if in_city { 2 } else { 1 }, "{b:?}");
            if !in_city {
                let err = store::get_scoped(&t.db, scope, &other.uscc)
                    .await
                    .unwrap_err();
                assert!(matches!(err, AppError::NotFound), "{b:?}");
                let err = store::history(&t.db, scope, &other.uscc).await.unwrap_err();
                assert!(matches!(err, AppError::NotFound));
                let mut tx = t.db.begin().await.unwrap();
                let err = store::change(&mut tx, &officer(), scope, &other.uscc, &rename)
                    .await
                    .unwrap_err();
                assert!(matches!(err, AppError::NotFound), "{b:?}");
            }
        }
        for u in [&lixia.uscc, &shizhong.uscc] {
            let mut tx = t.db.begin().await.unwrap();
            store::change(&mut tx, &officer(), &city, u, &rename)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        // A county officer cannot move an entity out of the county.
        let mut tx = t.db.begin().await.unwrap();
        let move_out = EntityChange {
            division: Some("370103".into()),
            ..EntityChange::default()
        };
        let err = store::change(&mut tx, &officer(), &county, &lixia.uscc, &move_out)
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::Rejected { .. }), "{b:?}: {err:?}");
        drop(tx);
        assert_eq!(
            store::count_scoped(&t.db, &county, &EntityFilter::default())
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store::count_scoped(&t.db, &city, &EntityFilter::default())
                .await
                .unwrap(),
            2
        );
        let nobody = Scope::none();
        assert_eq!(
            store::count_scoped(&t.db, &nobody, &EntityFilter::default())
                .await
                .unwrap(),
            0
        );
        assert!(matches!(
            store::get_scoped(&t.db, &nobody, &lixia.uscc).await,
            Err(AppError::NotFound)
        ));
    }
}

/// A filter and the rows it must find.
type Case = (EntityFilter, Box<dyn Fn(&NewEntity) -> bool>);

#[tokio::test]
async fn lists_filter_and_page_through_every_row_once() {
    for b in backends() {
        let t = test_db(b).await;
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let mut rows = Vec::new();
        for (n, division) in [
            "370102001",
            "370102002",
            "370102",
            "370103",
            "370105001",
            "370202",
        ]
        .iter()
        .cycle()
        .take(240)
        .enumerate()
        {
            let mut e = entity(&mut rng, &division[..6], division, n);
            if n % 3 == 0 {
                e.status = Status::Suspended;
            }
            if n % 4 == 0 {
                e.entity_type = EntityType::Branch;
            }
            if n == 7 {
                e.name = "济南100%_纯净水有限公司".into();
            }
            rows.push(e);
        }
        store::insert_batch(&t.db, &Actor::system(), &rows)
            .await
            .unwrap();
        let city = Scope::prefix("3701");
        let cases: Vec<Case> = vec![
            (
                EntityFilter::default(),
                Box::new(|e| e.division.starts_with("3701")),
            ),
            (
                EntityFilter {
                    division_prefix: Some("370102".into()),
                    status: Some(Status::Suspended),
                    ..EntityFilter::default()
                },
                Box::new(|e| e.division.starts_with("370102") && e.status == Status::Suspended),
            ),
            (
                EntityFilter {
                    entity_type: Some(EntityType::Branch),
                    ..EntityFilter::default()
                },
                Box::new(|e| e.division.starts_with("3701") && e.entity_type == EntityType::Branch),
            ),
            (
                EntityFilter {
                    name_contains: Some("100%_".into()),
                    ..EntityFilter::default()
                },
                Box::new(|e| e.name.contains("100%_")),
            ),
            (
                // Narrower than asked for is fine; outside the scope finds nothing.
                EntityFilter {
                    division_prefix: Some("370202".into()),
                    ..EntityFilter::default()
                },
                Box::new(|_| false),
            ),
        ];
        for (i, (filter, want)) in cases.iter().enumerate() {
            let mut expected: Vec<&str> = rows
                .iter()
                .filter(|e| want(e))
                .map(|e| e.uscc.as_str())
                .collect();
            expected.sort_unstable();
            let mut after: Option<String> = None;
            let mut seen = Vec::new();
            loop {
                let page = store::list_scoped(&t.db, &city, filter, after.as_deref(), 7)
                    .await
                    .unwrap();
                assert!(page.len() <= 7);
                for w in page.windows(2) {
                    assert!((&w[0].division, &w[0].uscc) < (&w[1].division, &w[1].uscc));
                }
                seen.extend(page.iter().map(|e| e.uscc.clone()));
                match page.last() {
                    Some(last) => after = Some(last.uscc.clone()),
                    None => break,
                }
            }
            let unique: HashSet<&String> = seen.iter().collect();
            assert_eq!(unique.len(), seen.len(), "{b:?} case {i}: a row came twice");
            seen.sort_unstable();
            assert_eq!(seen, expected, "{b:?} case {i}");
            let n = store::count_scoped(&t.db, &city, filter).await.unwrap();
            assert_eq!(n as usize, expected.len(), "{b:?} case {i}");
            let mut streamed = 0;
            let total = store::stream_scoped(&t.db, &city, filter, |e| {
                assert!(want(&e.to_new()));
                streamed += 1;
                Ok(())
            })
            .await
            .unwrap();
            assert_eq!((total as usize, streamed), (expected.len(), expected.len()));
        }
        let err = store::list_scoped(
            &t.db,
            &Scope::prefix("370102"),
            &EntityFilter::default(),
            Some(&rows[3].uscc),
            5,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, AppError::BadRequest { ref field, .. } if field == "after"),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn a_change_writes_history_a_public_event_and_the_audit() {
    for b in backends() {
        let t = test_db(b).await;
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let ib = create(&t.db, &individual(&mut rng, "370102001"))
            .await
            .unwrap();
        let scope = Scope::prefix("3701");
        let ch = EntityChange {
            name: Some("历下区李四小吃店".into()),
            legal_rep: Some("李四".into()),
            address: Some(ib.address.clone()), // unchanged: not recorded
            division: Some("370102002".into()),
            status: Some(Status::Suspended),
            ..EntityChange::default()
        };
        let mut tx = t.db.begin().await.unwrap();
        let changed = store::change(&mut tx, &officer(), &scope, &ib.uscc, &ch)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(changed.name, "历下区李四小吃店");
        assert_eq!(changed.status, Status::Suspended);
        assert!(changed.updated_at > ib.updated_at);
        let stored = store::get_scoped(&t.db, &scope, &ib.uscc).await.unwrap();
        assert_eq!(stored.to_new(), changed.to_new(), "{b:?}");
        assert_eq!(stored.created_at, ib.created_at);

        let ev = events::public_after(&t.db, 1, 10).await.unwrap();
        assert_eq!(ev.len(), 1, "{b:?}");
        assert_eq!(ev[0].kind, "registry.entity.changed");
        assert_eq!(ev[0].division.as_deref(), Some("370102002"));
        let p = ev[0].payload_json();
        let fields: Vec<&str> = p["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["name", "legal_rep", "division", "status"]);
        let rep = &p["fields"][1];
        assert_eq!(
            (rep["before"].as_str(), rep["after"].as_str()),
            (Some("张**"), Some("李*"))
        );
        assert!(!ev[0].payload.contains("\"张三丰\"") && !ev[0].payload.contains("\"李四\""));
        assert!(!ev[0].payload.contains("11010519491231002X") && !ev[0].payload.contains("139"));

        let h = store::history(&t.db, &scope, &ib.uscc).await.unwrap();
        assert_eq!(h.len(), 4);
        assert!(h.windows(2).all(|w| w[0].id > w[1].id), "newest first");
        assert!(h.iter().all(|r| r.timepoint == ev[0].timepoint));
        let status = h.iter().find(|r| r.field == "status").unwrap();
        assert_eq!(
            (
                status.before_value.as_deref(),
                status.after_value.as_deref()
            ),
            (Some("active"), Some("suspended"))
        );
        let rep = h.iter().find(|r| r.field == "legal_rep").unwrap();
        assert_eq!(
            rep.before_value.as_deref(),
            Some("张三丰"),
            "officers see the real names"
        );

        let log = audit::list(&t.db, &scope, None, 10).await.unwrap();
        assert_eq!(log[0].action, "entity.change");
        let before: serde_json::Value =
            serde_json::from_str(log[0].before_state.as_deref().unwrap()).unwrap();
        let after: serde_json::Value =
            serde_json::from_str(log[0].after_state.as_deref().unwrap()).unwrap();
        assert_eq!(before["legal_rep"], "张三丰");
        assert_eq!(after["legal_rep"], "李四");
        assert_eq!(after["status"], "suspended");
        assert!(before.get("address").is_none());

        // Invalid new values are refused, naming the field.
        let mut tx = t.db.begin().await.unwrap();
        let bad = EntityChange {
            industry: Some("65".into()),
            ..EntityChange::default()
        };
        let err = store::change(&mut tx, &officer(), &scope, &ib.uscc, &bad)
            .await
            .unwrap_err();
        assert!(
            matches!(err, AppError::BadRequest { ref field, .. } if field == "industry"),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn an_unchanged_change_is_rejected_and_writes_nothing() {
    for b in backends() {
        let t = test_db(b).await;
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let e = create(&t.db, &entity(&mut rng, "370102", "370102", 1))
            .await
            .unwrap();
        let head = events::head(&t.db).await.unwrap();
        let audits = count(&t.db, "audit_log").await;
        for ch in [
            EntityChange::default(),
            EntityChange {
                name: Some(format!(" {} ", e.name)),
                capital_yuan: e.capital_yuan,
                status: Some(e.status),
                ..EntityChange::default()
            },
        ] {
            let mut tx = t.db.begin().await.unwrap();
            let err = store::change(&mut tx, &officer(), &Scope::all(), &e.uscc, &ch)
                .await
                .unwrap_err();
            match err {
                AppError::Rejected { message } => {
                    assert!(message.starts_with("没有变更"), "{message}")
                }
                other => panic!("{b:?}: {other:?}"),
            }
            tx.commit().await.unwrap();
        }
        assert_eq!(events::head(&t.db).await.unwrap(), head, "{b:?}");
        assert_eq!(count(&t.db, "audit_log").await, audits);
        assert_eq!(count(&t.db, "entity_changes").await, 0);
        let stored = store::get_public(&t.db, &e.uscc).await.unwrap();
        assert_eq!(stored.updated_at, e.updated_at);
    }
}
