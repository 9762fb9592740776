//! Fixtures shared by the inspection-plan tests: the library (departments, domains, items,
//! inspectors, a conflict) and entities of the registry with classes and tags.
#![allow(dead_code)]

use amr_kernel::audit::Actor;
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_kernel::db::Db;
use amr_registry::model::{EntityType, NewEntity, Status};
use amr_registry::store;
use chrono::{NaiveDate, Utc};
use serde_json::json;

/// The library: two departments with a domain and an item each, three inspectors per
/// department in Jinan, one of them with a declared conflict.
pub async fn library(db: &Db, conflict_uscc: &str) {
    let now = Utc::now();
    let expiry = NaiveDate::from_ymd_opt(2030, 12, 31).unwrap();
    let mut tx = db.begin().await.unwrap();
    for (dept, name, domain, item) in [
        ("D01", "食品经营监管处", "DM01", "I001"),
        ("D02", "特种设备安全监察处", "DM02", "I002"),
    ] {
        amr_kernel::on_tx!(tx, c => {
            sqlx::query("INSERT INTO insp_departments (code, name, name_en, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)")
                .bind(dept).bind(name).bind(dept).bind(now).execute(&mut *c).await.unwrap();
            sqlx::query("INSERT INTO insp_domains (code, department, name) VALUES ($1, $2, $3)")
                .bind(domain).bind(dept).bind(name).execute(&mut *c).await.unwrap();
            sqlx::query("INSERT INTO insp_items (code, department, domain, name, legal_basis, target_type, method, list, population, frequency, updated_at) \
                         VALUES ($1, $2, $3, $4, '《条例》', 'enterprise', '现场检查', 'general', '', '1/年', $5)")
                .bind(item).bind(dept).bind(domain).bind(format!("{name}事项")).bind(now)
                .execute(&mut *c).await.unwrap();
        });
        for n in 1..=3 {
            let id = format!("{dept}-P{n}");
            amr_kernel::on_tx!(tx, c => sqlx::query(
                "INSERT INTO insp_inspectors (id, department, name, jurisdiction, qualifications, certificate_no, certificate_expiry, updated_at) \
                 VALUES ($1, $2, $3, '3701', $4, $5, $6, $7)")
                .bind(&id).bind(dept).bind(format!("检查员{dept}{n}"))
                .bind(json!([domain]).to_string()).bind(format!("鲁执{dept}{n:04}"))
                .bind(expiry).bind(now)
                .execute(&mut *c).await.unwrap().rows_affected());
        }
    }
    amr_kernel::on_tx!(tx, c => sqlx::query(
        "INSERT INTO insp_conflicts (inspector_id, uscc, reason, declared_at) VALUES ('D01-P1', $1, '近亲属', $2)")
        .bind(conflict_uscc).bind(now).execute(&mut *c).await.unwrap().rows_affected());
    tx.commit().await.unwrap();
}

/// `n` active enterprises in Lixia (370102) and one deregistered; some with a class, some
/// with a tag. Their codes.
pub async fn entities(db: &Db, n: usize) -> Vec<String> {
    let mut codes = Vec::new();
    let mut tx = db.begin().await.unwrap();
    for i in 0..=n {
        let e = NewEntity {
            uscc: Uscc::generate(RegistrationType::Enterprise, "370102", &mut rand::rng())
                .unwrap()
                .to_string(),
            name: format!("济南测试{i}号商贸有限公司"),
            entity_type: EntityType::Enterprise,
            legal_rep: "李大山".into(),
            legal_rep_id: None,
            phone: None,
            capital_yuan: Some(1_000_000),
            established: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
            address: "山东省济南市历下区泉城路1号".into(),
            division: "370102".into(),
            scope: "餐饮服务".into(),
            industry: if i % 2 == 0 { "6210" } else { "5211" }.into(),
            status: if i == n {
                Status::Deregistered
            } else {
                Status::Active
            },
        };
        store::create(&mut tx, &Actor::system(), &e).await.unwrap();
        if i < n {
            codes.push(e.uscc.clone());
        }
    }
    tx.commit().await.unwrap();
    // The server's credit-risk follower classifies new entities from their registry events:
    // wait until it has, then put the classes this fixture wants in place of its (it does not
    // touch an entity again without a new event about it).
    let head = amr_kernel::events::head(db).await.unwrap();
    let mut caught_up = false;
    for _ in 0..600 {
        if amr_kernel::events::runner::cursor(db, amr_supervision::risk::follower::CONSUMER)
            .await
            .unwrap()
            >= head
        {
            caught_up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        caught_up,
        "the credit-risk follower did not catch up in 30 s"
    );
    let now = Utc::now();
    let mut tx = db.begin().await.unwrap();
    for (i, u) in codes.iter().enumerate() {
        amr_kernel::on_tx!(tx, c => sqlx::query("DELETE FROM credit_risk WHERE uscc = $1")
            .bind(u)
            .execute(&mut *c).await.unwrap().rows_affected());
        if i % 5 == 0 {
            amr_kernel::on_tx!(tx, c => sqlx::query(
                "INSERT INTO credit_risk (uscc, division, class, score, reasons, model_version, computed_at) VALUES ($1, '370102', $2, 1.0, '[]', 'test', $3)")
                .bind(u).bind(if i % 10 == 0 { "D" } else { "A" }).bind(now)
                .execute(&mut *c).await.unwrap().rows_affected());
        }
        if i % 3 == 0 {
            amr_kernel::on_tx!(tx, c => sqlx::query(
                "INSERT INTO target_tags (uscc, tag, division, source, set_by, set_at) VALUES ($1, 'licence:food', '370102', 'test', 'test', $2)")
                .bind(u).bind(now)
                .execute(&mut *c).await.unwrap().rows_affected());
        }
    }
    tx.commit().await.unwrap();
    codes
}
