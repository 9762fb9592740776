//! Officers' actions and transfers between county bureaus.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::json;

use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::matter::{ActInput, Acting, AssignInput, Matter};

use super::intake::county_of;
use super::{canonical, parse_version};
use crate::complaint::{engine, followup, model, store};

/// An officer's action.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct OfficerAct {
    pub transition: String,
    pub version: String,
    pub outcome: String,
    pub ground: String,
    pub reason: String,
    pub note: String,
    pub summary: String,
    pub amount: String,
}

/// Takes an officer's action (accept, decline, mediate, hold, resume, close, reopen; check,
/// open_case, no_case for reports; answer for help). Money recovered at the close is parsed
/// strictly (yuan, two decimals at most) and recorded.
pub async fn officer_act(
    db: &Db,
    acting: &Acting,
    number: &str,
    input: &OfficerAct,
    today: NaiveDate,
) -> Result<Matter, AppError> {
    let version = parse_version(&input.version)?;
    let number = canonical(number)?;
    let row = store::get_scoped(db, &acting.scope, &number).await?;
    let t = input.transition.trim();
    let mut fields = BTreeMap::new();
    let mut put = |k: &str, v: &str| {
        fields.insert(k.to_string(), v.trim().to_string());
    };
    let mut recovered = None;
    match t {
        "decline" => {
            put("outcome", "declined");
            put("ground", &input.ground);
            put("reason", &input.reason);
        }
        "mediate" => put("note", &input.note),
        "hold" | "reopen" => put("reason", &input.reason),
        "close" => {
            let fen = model::parse_yuan("amount", &input.amount)?;
            recovered = Some(fen);
            put("outcome", &input.outcome);
            put("summary", &input.summary);
            put("amount", &model::yuan(fen));
        }
        "open_case" => {
            put("outcome", "case_opened");
            put("summary", &input.summary);
        }
        "no_case" => {
            put("outcome", "not_opened");
            put("reason", &input.reason);
        }
        "answer" => {
            put("outcome", "answered");
            put("summary", &input.summary);
        }
        _ => {}
    }
    let mut tx = db.begin().await?;
    let m = engine()
        .act(
            &mut tx,
            acting,
            &row.matter_number,
            &ActInput {
                transition: t.to_string(),
                version,
                fields,
            },
            today,
        )
        .await?;
    store::sync(&mut tx, &m).await?;
    if t == "reopen" {
        store::reclaim_dup_key(&mut tx, &m.number).await?;
    }
    if t == "close" {
        store::set_recovered(&mut tx, &m.number, recovered).await?;
        let mut event = NewEvent::public(
            "consumer.complaint.closed",
            json!({"number": m.number, "outcome": m.outcome, "recovered_fen": recovered}),
        )
        .division(&m.division)
        .actor(acting.actor.label());
        if let Some(u) = &m.uscc {
            event = event.uscc(u);
        }
        events::append(&mut tx, event).await?;
    }
    followup::after_act(&mut tx, &m, t, today).await?;
    tx.commit().await?;
    Ok(m)
}

/// Transfers a matter to another county bureau, with a reason.
pub async fn transfer(
    db: &Db,
    acting: &Acting,
    number: &str,
    version: &str,
    division: &str,
    reason: &str,
) -> Result<Matter, AppError> {
    let version = parse_version(version)?;
    let number = canonical(number)?;
    let row = store::get_scoped(db, &acting.scope, &number).await?;
    let d = division.trim();
    let county = county_of(d).filter(|c| c.len() == d.len()).ok_or_else(|| {
        AppError::bad_request(
            "division",
            "请填写接收的县级市场监管部门所在县（区）的 6 位行政区划代码 (the 6-digit code of the receiving county)",
        )
    })?;
    if county == row.division {
        return Err(AppError::bad_request(
            "division",
            "已在该县（区）办理 (it is already with that county)",
        ));
    }
    let mut tx = db.begin().await?;
    let m = engine()
        .assign(
            &mut tx,
            acting,
            &row.matter_number,
            &AssignInput {
                version,
                account: None,
                unit: None,
                division: Some(county.to_string()),
                reason: Some(reason.to_string()),
            },
        )
        .await?;
    store::sync(&mut tx, &m).await?;
    followup::after_transfer(&mut tx, &m).await?;
    tx.commit().await?;
    Ok(m)
}
