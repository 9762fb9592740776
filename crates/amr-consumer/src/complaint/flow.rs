//! The use cases, each one transaction: the matter (engine: rows, timeline, event, audit)
//! and this context's row, event and audit entry commit together; a refusal writes nothing.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use serde_json::json;

use amr_kernel::audit::{self, Actor, Change};
use amr_kernel::codes::division::{Level, divisions};
use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::matter::{ActInput, Acting, AssignInput, Matter, NewMatter};

use super::model::{self, BusinessRef, IntakeInput, IntakeKind};
use super::{BusinessDirectory, engine, store};

/// A county the complainant may pick.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub code: String,
    pub name: String,
}

/// Why an intake was not filed.
#[derive(Debug)]
pub enum FileError {
    /// A bad field, or anything else the kernel's policy answers.
    App(AppError),
    /// The county could not be settled from the address: the complainant picks one.
    County {
        message: String,
        candidates: Vec<Candidate>,
    },
    /// The same complainant filed the same facts about the same business, still open.
    Duplicate { number: String },
}

impl From<AppError> for FileError {
    fn from(e: AppError) -> FileError {
        FileError::App(e)
    }
}

impl FileError {
    /// The message, Chinese first.
    pub fn message(&self) -> String {
        match self {
            FileError::App(e) => e.public_message(),
            FileError::County { message, .. } => message.clone(),
            FileError::Duplicate { number } => duplicate_message(number),
        }
    }
}

pub fn duplicate_message(number: &str) -> String {
    format!(
        "您已就同一经营者的同一事实提交过，事项编号 {number}，正在办理中，请勿重复提交 \
         (you already filed the same facts about the same business as {number}, which is still open)"
    )
}

/// A filed matter.
#[derive(Debug, Clone)]
pub struct Filed {
    pub matter: Matter,
    pub odr: bool,
    pub business_name: String,
}

fn county_of(code: &str) -> Option<&'static str> {
    let c = code.get(..6)?;
    divisions()
        .get(c)
        .filter(|d| d.level == Level::County)
        .map(|d| d.code)
}

fn county_name(code: &str) -> String {
    divisions()
        .full_name(code)
        .unwrap_or_else(|| code.to_string())
}

fn counties_under(code: &str) -> Vec<Candidate> {
    let table = divisions();
    let mut out = Vec::new();
    let mut stack = vec![code.to_string()];
    while let Some(c) = stack.pop() {
        for d in table.children(&c) {
            match d.level {
                Level::County => out.push(Candidate {
                    code: d.code.to_string(),
                    name: county_name(d.code),
                }),
                Level::Province | Level::Prefecture => stack.push(d.code.to_string()),
                Level::Town => {}
            }
        }
    }
    out.sort_by(|a, b| a.code.cmp(&b.code));
    out
}

/// The county bureau for a free-text business: the county of its address (amr-address),
/// else the one the complainant picked (which must lie in the city the address names).
pub fn route_address(address: &str, picked: Option<&str>) -> Result<String, FileError> {
    let parsed = amr_address::parse(address, None);
    let found = parsed.county_code.as_deref().and_then(county_of);
    match (found, picked) {
        (Some(c), None) => Ok(c.to_string()),
        (Some(c), Some(p)) if p == c => Ok(c.to_string()),
        (Some(c), Some(p)) => Err(AppError::bad_request(
            "county",
            format!(
                "地址位于{}，与所选县（区）{}不符 (the address is in {c}, not in the county picked, {p})",
                county_name(c),
                county_name(p)
            ),
        )
        .into()),
        (None, Some(p)) => {
            let county = county_of(p).filter(|c| c.len() == p.len()).ok_or_else(|| {
                AppError::bad_request(
                    "county",
                    "所选县（区）代码不存在 (no such county code)",
                )
            })?;
            if let Some(city) = parsed.city_code.as_deref()
                && !county.starts_with(city)
            {
                return Err(AppError::bad_request(
                    "county",
                    format!(
                        "所选县（区）不在地址所写的{}内 (the county picked is not in the city of the address, {city})",
                        county_name(city)
                    ),
                )
                .into());
            }
            Ok(county.to_string())
        }
        (None, None) => {
            let mut candidates: Vec<Candidate> = parsed
                .ambiguities
                .iter()
                .filter(|a| a.level == "county")
                .flat_map(|a| a.candidates.iter())
                .filter_map(|c| county_of(&c.code))
                .map(|c| Candidate {
                    code: c.to_string(),
                    name: county_name(c),
                })
                .collect();
            if candidates.is_empty()
                && let Some(up) = parsed
                    .city_code
                    .as_deref()
                    .or(parsed.province_code.as_deref())
            {
                candidates = counties_under(up);
            }
            candidates.dedup_by(|a, b| a.code == b.code);
            let message = if candidates.is_empty() {
                "无法从地址确定经营者所在的县（市、区），请填写更完整的地址或县（区）的 6 位行政区划代码 \
                 (the county cannot be told from the address: give a fuller address or the county's 6-digit code)"
                    .to_string()
            } else {
                format!(
                    "无法从地址确定经营者所在的县（市、区），请从 {} 个候选中选择 \
                     (the county cannot be told from the address: pick one of the {} candidates)",
                    candidates.len(),
                    candidates.len()
                )
            };
            Err(FileError::County {
                message,
                candidates,
            })
        }
    }
}

/// Files an intake: parsed, the business resolved (registry) and routed to its county bureau,
/// refused as a duplicate while the same one is open; a complaint about an ODR participant
/// goes to the business first, any other to the bureau. `acting` is the system (public
/// intake) with the client's address.
pub async fn file(
    db: &Db,
    registry: &dyn BusinessDirectory,
    acting: &Acting,
    input: &IntakeInput,
    source: &str,
    today: NaiveDate,
) -> Result<Filed, FileError> {
    let intake = input.parse(today)?;
    let (uscc, business_name, business_address, county) = match &intake.business {
        BusinessRef::Registered(u) => {
            let b = registry.lookup(u).await?.ok_or_else(|| {
                AppError::bad_request(
                    "uscc",
                    "登记系统中没有该统一社会信用代码的经营者，请核对或改填名称和地址 \
                     (no business with this USCC is registered: check it, or give the name and address)",
                )
            })?;
            let county = county_of(&b.division).ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!(
                    "entity {} has division {} with no county",
                    b.uscc,
                    b.division
                ))
            })?;
            if let Some(p) = intake.county.as_deref()
                && p != county
            {
                return Err(AppError::bad_request(
                    "county",
                    format!(
                        "该经营者登记在{}，与所选县（区）不符 (the business is registered in {county}, not in the county picked)",
                        county_name(county)
                    ),
                )
                .into());
            }
            (Some(b.uscc), b.name, Some(b.address), county.to_string())
        }
        BusinessRef::FreeText { name, address } => {
            let county = route_address(address, intake.county.as_deref())?;
            (None, name.clone(), Some(address.clone()), county)
        }
    };
    let business_key = uscc.clone().unwrap_or_else(|| business_name.clone());
    let dup_key = model::dup_key(intake.kind, &intake.phone, &business_key, &intake.facts);
    let mut tx = db.begin().await?;
    if let Some(number) = store::open_duplicate(&mut tx, &dup_key).await? {
        return Err(FileError::Duplicate { number });
    }
    let odr = intake.kind == IntakeKind::Complaint
        && match &uscc {
            Some(u) => store::is_odr(&mut tx, u).await?,
            None => false,
        };
    let title = format!(
        "{}：{}",
        intake.kind.label_zh(),
        crate::contract::short(&business_name, 80)
    );
    let mut m = engine()
        .create(
            &mut tx,
            acting,
            &NewMatter {
                kind: intake.kind.as_str().to_string(),
                title,
                division: county.clone(),
                uscc: uscc.clone(),
                payload: json!({"business_name": business_name, "source": source}),
                assignee_account: None,
                assignee_unit: None,
            },
            today,
        )
        .await?;
    if intake.kind == IntakeKind::Complaint {
        let transition = if odr { "to_odr" } else { "to_bureau" };
        m = engine()
            .act(
                &mut tx,
                acting,
                &m.number,
                &ActInput {
                    transition: transition.into(),
                    version: m.version,
                    fields: BTreeMap::new(),
                },
                today,
            )
            .await?;
    }
    store::insert(
        &mut tx,
        &m,
        &store::NewRow {
            kind: intake.kind.as_str(),
            source,
            uscc: uscc.as_deref(),
            business_name: &business_name,
            business_address: business_address.as_deref(),
            complainant_name: &intake.name,
            phone: &intake.phone,
            purchase: &intake.purchase,
            purchase_date: intake.purchase_date,
            amount_fen: intake.amount_fen,
            facts: &intake.facts,
            claim: &intake.claim,
            dup_key: &dup_key,
            odr,
            year: today.year(),
        },
    )
    .await?;
    let mut event = NewEvent::public(
        "consumer.complaint.filed",
        json!({"number": m.number, "kind": intake.kind.as_str(), "division": county, "odr": odr}),
    )
    .division(&county)
    .actor(acting.actor.label());
    if let Some(u) = &uscc {
        event = event.uscc(u);
    }
    events::append(&mut tx, event).await?;
    audit::record(
        &mut tx,
        &acting.actor,
        Change {
            action: "complaint.file",
            target_kind: "complaint",
            target_id: m.number.clone(),
            division: Some(county.clone()),
            before: None,
            after: Some(json!({
                "kind": intake.kind.as_str(), "source": source, "uscc": uscc,
                "business_name": business_name, "odr": odr,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Filed {
        matter: m,
        odr,
        business_name,
    })
}

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

fn parse_version(v: &str) -> Result<i64, AppError> {
    v.trim().parse().map_err(|_| {
        AppError::bad_request("version", "版本号应为整数 (the version is a whole number)")
    })
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

/// A matter number in its canonical form (tolerant parse; a wrong check character refused).
pub fn canonical(number: &str) -> Result<String, AppError> {
    Ok(amr_kernel::matter::MatterNumber::parse(number)?.to_string())
}

/// The complainant's own matter: number and phone must both match, else NotFound (which of
/// the two was wrong is not told).
pub async fn own(db: &Db, number: &str, phone: &str) -> Result<store::Complaint, AppError> {
    let number = canonical(number).map_err(|_| AppError::NotFound)?;
    let phone = model::parse_phone(phone).map_err(|_| AppError::NotFound)?;
    match store::get(db, &number).await? {
        Some(r) if r.phone == phone => Ok(r),
        _ => Err(AppError::NotFound),
    }
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
