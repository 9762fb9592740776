//! Online dispute resolution: the business's answer (settle or refuse), the consumer's
//! refusal of a settlement, the sweep that sends silent matters to the bureau, the marking
//! of participants (officers, and the demo's share).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::json;

use amr_kernel::audit::{self, Actor, Change};
use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::matter::{ActInput, Acting, Matter};

use super::{canonical, own, parse_version};
use crate::complaint::{BusinessDirectory, engine, followup, model, store};

/// The business's answer in ODR.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct AnswerInput {
    /// `settle` or `refuse`.
    pub answer: String,
    pub version: String,
    pub settlement: String,
    pub amount: String,
    pub reason: String,
}

/// The business settles (closing the matter with the terms and the amount) or refuses (the
/// matter goes to the county bureau). `acting` is the business's enterprise account.
pub async fn answer(
    db: &Db,
    acting: &Acting,
    number: &str,
    input: &AnswerInput,
    today: NaiveDate,
) -> Result<Matter, AppError> {
    let version = parse_version(&input.version)?;
    let mut fields = BTreeMap::new();
    let (transition, result, settlement, fen) = match input.answer.trim() {
        "settle" => {
            let s = model::text("settlement", &input.settlement, 2, 2000, "和解内容", false)?;
            let fen = model::parse_yuan("amount", &input.amount)?;
            fields.insert("outcome".to_string(), "odr_settled".to_string());
            fields.insert("settlement".to_string(), s.clone());
            fields.insert("amount".to_string(), model::yuan(fen));
            ("odr_settle", "settled", Some(s), Some(fen))
        }
        "refuse" => {
            let r = model::text("reason", &input.reason, 2, 1000, "拒绝理由", false)?;
            fields.insert("reason".to_string(), r);
            ("odr_refuse", "refused", None, None)
        }
        _ => {
            return Err(AppError::bad_request(
                "answer",
                "请选择和解（settle）或拒绝（refuse） (answer settle or refuse)",
            ));
        }
    };
    let row = store::get(db, &canonical(number)?)
        .await?
        .ok_or(AppError::NotFound)?;
    if row.kind != "complaint" || acting.uscc.is_none() || row.uscc != acting.uscc {
        return Err(AppError::NotFound);
    }
    let mut tx = db.begin().await?;
    let m = engine()
        .act(
            &mut tx,
            acting,
            &row.matter_number,
            &ActInput {
                transition: transition.into(),
                version,
                fields,
            },
            today,
        )
        .await?;
    store::sync(&mut tx, &m).await?;
    store::set_odr_result(
        &mut tx,
        &m.number,
        result,
        today,
        settlement.as_deref(),
        fen,
    )
    .await?;
    followup::after_act(&mut tx, &m, transition, today).await?;
    events::append(
        &mut tx,
        NewEvent::internal(
            "consumer.complaint.odr_answered",
            json!({"number": m.number, "result": result, "amount_fen": fen}),
        )
        .division(&m.division)
        .actor(acting.actor.label()),
    )
    .await?;
    tx.commit().await?;
    Ok(m)
}

/// The consumer refuses the business's settlement: the matter goes to the county bureau.
pub async fn refuse_settlement(
    db: &Db,
    ip: Option<String>,
    number: &str,
    phone: &str,
    reason: &str,
    today: NaiveDate,
) -> Result<Matter, AppError> {
    let row = own(db, number, phone).await?;
    let reason = model::text("reason", reason, 2, 1000, "不接受和解的理由", false)?;
    if row.state != "odr_settled" {
        return Err(AppError::rejected(
            "只有经营者已提出和解的投诉可以拒绝和解 (only a settlement by the business can be refused)",
        ));
    }
    let mut acting = Acting::system();
    acting.actor.ip = ip;
    let m0 = engine().get(db, &acting, &row.matter_number).await?;
    let mut tx = db.begin().await?;
    let m = engine()
        .act(
            &mut tx,
            &acting,
            &row.matter_number,
            &ActInput {
                transition: "consumer_refuse".into(),
                version: m0.version,
                fields: BTreeMap::from([("reason".to_string(), reason)]),
            },
            today,
        )
        .await?;
    store::sync(&mut tx, &m).await?;
    store::set_consumer_refused(&mut tx, &m.number).await?;
    store::reclaim_dup_key(&mut tx, &m.number).await?;
    followup::after_act(&mut tx, &m, "consumer_refuse", today).await?;
    events::append(
        &mut tx,
        NewEvent::internal(
            "consumer.complaint.settlement_refused",
            json!({"number": m.number}),
        )
        .division(&m.division)
        .actor(acting.actor.label()),
    )
    .await?;
    tx.commit().await?;
    Ok(m)
}

/// The ODR sweep: every matter whose business let its 10 working days pass without an
/// answer goes to the county bureau (`odr_timeout`). Idempotent (one transaction a matter,
/// each taken only from the `odr` state); returns how many moved.
pub async fn sweep_odr(db: &Db, today: NaiveDate) -> Result<usize, AppError> {
    let acting = Acting::system();
    let mut moved = 0;
    for number in store::odr_overdue(db, today).await? {
        let m0 = engine().get(db, &acting, &number).await?;
        if m0.state != "odr" {
            continue;
        }
        let mut tx = db.begin().await?;
        let m = match engine()
            .act(
                &mut tx,
                &acting,
                &number,
                &ActInput {
                    transition: "odr_timeout".into(),
                    version: m0.version,
                    fields: BTreeMap::new(),
                },
                today,
            )
            .await
        {
            Ok(m) => m,
            // Someone answered between the read and the act: nothing to do.
            Err(AppError::Conflict(_) | AppError::Rejected { .. }) => continue,
            Err(e) => return Err(e),
        };
        store::sync(&mut tx, &m).await?;
        store::set_odr_result(&mut tx, &m.number, "timeout", today, None, None).await?;
        followup::after_act(&mut tx, &m, "odr_timeout", today).await?;
        events::append(
            &mut tx,
            NewEvent::internal(
                "consumer.complaint.odr_answered",
                json!({"number": m.number, "result": "timeout"}),
            )
            .division(&m.division)
            .actor(acting.actor.label()),
        )
        .await?;
        tx.commit().await?;
        moved += 1;
    }
    Ok(moved)
}

/// Marks a business as taking part in ODR (or ends it). An officer may mark only businesses
/// registered within the jurisdiction. Public event `consumer.odr.joined` / `.left`, audit.
pub async fn mark_odr(
    db: &Db,
    registry: &dyn BusinessDirectory,
    actor: &Actor,
    scope: &amr_kernel::auth::Scope,
    uscc: &str,
    active: bool,
    today: NaiveDate,
) -> Result<(), AppError> {
    let code = amr_kernel::codes::uscc::Uscc::parse(uscc.trim())
        .map_err(|e| AppError::bad_request("uscc", e))?
        .to_string();
    let b = registry.lookup(&code).await?.ok_or(AppError::NotFound)?;
    if !scope.contains(Some(&b.division)) {
        return Err(AppError::NotFound);
    }
    if active && !b.active {
        return Err(AppError::rejected(
            "该经营者已注销或吊销，不能加入在线纠纷解决 (a deregistered or revoked business cannot join ODR)",
        ));
    }
    let mut tx = db.begin().await?;
    let before = store::set_odr(
        &mut tx,
        &b.uscc,
        &b.name,
        &b.division,
        active,
        today,
        &actor.label(),
    )
    .await?;
    let kind = if active {
        "consumer.odr.joined"
    } else {
        "consumer.odr.left"
    };
    events::append(
        &mut tx,
        NewEvent::public(kind, json!({"uscc": b.uscc, "name": b.name}))
            .division(&b.division)
            .uscc(&b.uscc)
            .actor(actor.label()),
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "complaint.odr.mark",
            target_kind: "entity",
            target_id: b.uscc.clone(),
            division: Some(b.division.clone()),
            before: Some(json!({"odr": before})),
            after: Some(json!({"odr": active})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The demo's ODR participants: one enterprise in `every` (by a hash of its USCC, so the
/// same ones each run), marked by the system. Returns how many were marked.
pub async fn demo_mark_odr(
    db: &Db,
    registry: &dyn BusinessDirectory,
    every: u64,
    today: NaiveDate,
) -> Result<u64, AppError> {
    use sha2::{Digest, Sha256};
    let actor = Actor::system();
    let mut after: Option<String> = None;
    let mut marked = 0;
    loop {
        let page = registry.enterprises(after.as_deref(), 5000).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.uscc.clone());
        let chosen: Vec<_> = page
            .iter()
            .filter(|b| b.active)
            .filter(|b| {
                let h = Sha256::digest(format!("odr:{}", b.uscc).as_bytes());
                u64::from_be_bytes(h[..8].try_into().unwrap_or([0; 8])) % every.max(1) == 0
            })
            .collect();
        if !chosen.is_empty() {
            let mut tx = db.begin().await?;
            for b in &chosen {
                store::set_odr(
                    &mut tx,
                    &b.uscc,
                    &b.name,
                    &b.division,
                    true,
                    today,
                    &actor.label(),
                )
                .await?;
            }
            events::append(
                &mut tx,
                NewEvent::internal("consumer.odr.demo_marked", json!({"count": chosen.len()}))
                    .actor(actor.label()),
            )
            .await?;
            tx.commit().await?;
            marked += chosen.len() as u64;
        }
        if page.len() < 5000 {
            break;
        }
    }
    Ok(marked)
}
