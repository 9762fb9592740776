//! The enterprise's online request for removal from the abnormal list (移出申请) and the
//! officers' decision on it.
//!
//! The enterprise asks for removal of one of its listings in force on a removal ground that
//! answers the listing's ground (`info_published` for instant or false information,
//! `address_changed` / `address_confirmed` for unreachable; a missed report is answered by
//! filing the back report, which removes the listing by itself), with a statement and
//! optionally its new address and phone. One open request per listing. An officer in the
//! jurisdiction approves it (the listing is removed through the usual removal path: decision
//! number, public event, flags; in the same transaction as the request's state) or refuses it
//! with a reason the enterprise sees on its portal. When the listing leaves the list some other
//! way while a request is open (an officer removes it directly, or it is transferred to the
//! serious-violation list at three years), the request is closed (`closed`) in the same
//! transaction, with what happened as its note, so no request is left open on a listing that
//! is no longer in force. The request's own steps are internal events
//! (`registry.abnormal.removal_requested`, `registry.abnormal.removal_request_decided`) and
//! audited (`abnormal.request`, `abnormal.request_approve`, `abnormal.request_refuse`,
//! `abnormal.request_close`).

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;

use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::Scope;
use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::{on_conn, on_tx};

use super::rules;
use super::store::{self as listings, Listing};
use crate::lifecycle::rules::text_field;
use crate::store;

/// A removal request as stored.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Request {
    pub id: i64,
    pub listing_id: i64,
    pub uscc: String,
    pub division: String,
    pub ground: String,
    pub statement: String,
    pub new_address: Option<String>,
    pub new_phone: Option<String>,
    pub state: String,
    pub filed_on: NaiveDate,
    pub filed_by: String,
    pub decided_on: Option<NaiveDate>,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
    pub removal_decision_no: Option<String>,
}

const COLUMNS: &str = "id, listing_id, uscc, division, ground, statement, new_address, \
    new_phone, state, filed_on, filed_by, decided_on, decided_by, decision_note, removal_decision_no";

/// What the enterprise asks.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct RequestInput {
    pub ground: String,
    pub statement: String,
    pub new_address: String,
    pub new_phone: String,
}

/// The removal grounds an enterprise may ask on for a listing of `listing_ground`: every
/// ground that answers it except `back_report` (a back report removes by itself).
pub fn request_grounds(listing_ground: &str) -> Vec<(&'static str, &'static str)> {
    rules::REMOVAL_GROUNDS
        .iter()
        .filter(|g| g.0 != "back_report" && g.2.contains(&listing_ground))
        .map(|g| (g.0, g.1))
        .collect()
}

fn phone(v: &str) -> Result<Option<String>, AppError> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.len() > 20
        || v.len() < 5
        || !v.chars().all(|c| c.is_ascii_digit() || c == '-')
        || !v.starts_with(|c: char| c.is_ascii_digit())
    {
        return Err(AppError::bad_request(
            "new_phone",
            "联系电话应为 5–20 位数字，可含 - (a phone number: 5–20 digits and -)",
        ));
    }
    Ok(Some(v.to_string()))
}

async fn get_in(tx: &mut Tx, id: i64) -> Result<Request, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM abnormal_removal_requests WHERE id = $1");
    let r: Option<Request> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *c)
        .await?);
    r.ok_or(AppError::NotFound)
}

/// The enterprise bound to `uscc` asks for removal of its listing `listing_id` on `today`.
pub async fn file(
    tx: &mut Tx,
    actor: &Actor,
    uscc: &str,
    listing_id: i64,
    input: &RequestInput,
    today: NaiveDate,
) -> Result<Request, AppError> {
    let l: Listing = listings::get_in(tx, listing_id).await?;
    if l.uscc != uscc {
        return Err(AppError::NotFound);
    }
    if l.state != "listed" {
        return Err(AppError::rejected(
            "该列入已不在名录中，无需申请移出 (the listing is no longer in force)",
        ));
    }
    if l.ground == "no_annual_report" {
        return Err(AppError::rejected(format!(
            "因未报送年报列入的，补报 {} 年度报告后自动移出，无需申请 (a listing for a missed report is removed by filing the back report for {})",
            l.year.unwrap_or_default(),
            l.year.unwrap_or_default()
        )));
    }
    let ground = input.ground.trim();
    if ground == "back_report" {
        return Err(AppError::bad_request(
            "ground",
            "补报年报不是此项列入的移出事由 (a back report does not answer this listing)",
        ));
    }
    let ground = rules::removal_ground(ground, &l.ground)?;
    let statement = text_field("statement", &input.statement, 1000, true, false)?;
    let new_address = text_field("new_address", &input.new_address, 200, false, false)?;
    let new_address = (!new_address.is_empty()).then_some(new_address);
    let new_phone = phone(&input.new_phone)?;
    if ground == "address_changed" && new_address.is_none() {
        return Err(AppError::bad_request(
            "new_address",
            "以“已办理住所变更登记”申请的，请填写新住所 (give the new address for this ground)",
        ));
    }
    let e = store::lock_scoped(tx, &Scope::all(), uscc).await?;
    let open: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM abnormal_removal_requests WHERE listing_id = $1 AND state = 'open'",
    )
    .bind(l.id)
    .fetch_one(&mut *c)
    .await?);
    if open > 0 {
        return Err(AppError::rejected(
            "该列入已有待处理的移出申请 (a removal request for this listing is already open)",
        ));
    }
    let id: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO abnormal_removal_requests (listing_id, uscc, division, ground, statement, \
         new_address, new_phone, state, filed_on, filed_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9) RETURNING id",
    )
    .bind(l.id)
    .bind(&e.uscc)
    .bind(&e.division)
    .bind(ground)
    .bind(&statement)
    .bind(&new_address)
    .bind(&new_phone)
    .bind(today)
    .bind(actor.label())
    .fetch_one(&mut *c)
    .await?);
    let r = get_in(tx, id).await?;
    events::append(
        tx,
        NewEvent::internal(
            "registry.abnormal.removal_requested",
            json!({"request_id": r.id, "listing_id": l.id, "uscc": r.uscc,
                   "listing_decision_no": l.decision_no, "ground": r.ground, "filed_on": today}),
        )
        .uscc(&e.uscc)
        .division(&e.division)
        .actor(actor.label()),
    )
    .await?;
    audit::record(
        tx,
        actor,
        audit::Change {
            action: "abnormal.request",
            target_kind: "entity",
            target_id: e.uscc.clone(),
            division: Some(e.division.clone()),
            before: None,
            after: Some(json!(r)),
        },
    )
    .await?;
    Ok(r)
}

/// An officer within `scope` decides request `id` on `today`: `approve` removes the listing
/// (the usual removal: decision number, public event, flags) with `note` (what was checked);
/// a refusal tells the enterprise `note` as the reason. Both in the caller's transaction.
pub async fn decide(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    id: i64,
    decision: &str,
    note: &str,
    today: NaiveDate,
) -> Result<(Request, Listing), AppError> {
    let r = get_in(tx, id).await?;
    if !scope.contains(Some(&r.division)) {
        return Err(AppError::NotFound);
    }
    let approve = match decision.trim() {
        "approve" => true,
        "refuse" => false,
        _ => {
            return Err(AppError::bad_request(
                "decision",
                "决定应为 approve 或 refuse (decision must be approve or refuse)",
            ));
        }
    };
    let note = text_field("note", note, 500, true, false)?;
    store::lock_scoped(tx, scope, &r.uscc).await?;
    if r.state != "open" {
        return Err(AppError::rejected(
            "该申请已处理 (the request has already been decided)",
        ));
    }
    let l = listings::get_in(tx, r.listing_id).await?;
    let (state, listing) = if approve {
        let removal_note = format!("依企业移出申请（第 {} 号）核实：{note}", r.id);
        let after =
            listings::remove_listing(tx, actor, &l, &r.ground, &removal_note, Some(r.id), today)
                .await?;
        ("approved", after)
    } else {
        ("refused", l)
    };
    let removal_no = if approve {
        listing.removal_decision_no.as_deref()
    } else {
        None
    };
    let after = settle(tx, actor, &r, state, &note, removal_no, today)
        .await?
        .ok_or_else(|| AppError::rejected("该申请已处理 (the request has already been decided)"))?;
    Ok((after, listing))
}

/// Closes the open request on listing `listing_id`, if there is one other than `except` (the
/// request being decided), because the listing left the list otherwise: `note` says how, and
/// `removal_decision_no` is the removal's decision number when it was removed. In the caller's
/// transaction; returns the closed request.
pub(crate) async fn close_open(
    tx: &mut Tx,
    actor: &Actor,
    listing_id: i64,
    except: Option<i64>,
    note: &str,
    removal_decision_no: Option<&str>,
    today: NaiveDate,
) -> Result<Option<Request>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM abnormal_removal_requests WHERE listing_id = $1 AND state = 'open' \
         AND id <> $2"
    );
    let open: Option<Request> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(listing_id)
        .bind(except.unwrap_or(0))
        .fetch_optional(&mut *c)
        .await?);
    let Some(r) = open else {
        return Ok(None);
    };
    settle(tx, actor, &r, "closed", note, removal_decision_no, today).await
}

/// Moves open request `r` to `state` (`approved`, `refused`, `closed`) with `note` and the
/// removal's decision number, with its internal event and audit entry; `None` when it was no
/// longer open.
async fn settle(
    tx: &mut Tx,
    actor: &Actor,
    r: &Request,
    state: &str,
    note: &str,
    removal_decision_no: Option<&str>,
    today: NaiveDate,
) -> Result<Option<Request>, AppError> {
    let n = on_tx!(tx, c => sqlx::query(
        "UPDATE abnormal_removal_requests SET state = $2, decided_on = $3, decided_by = $4, \
         decision_note = $5, removal_decision_no = $6 WHERE id = $1 AND state = 'open'",
    )
    .bind(r.id)
    .bind(state)
    .bind(today)
    .bind(actor.label())
    .bind(note)
    .bind(removal_decision_no)
    .execute(&mut *c)
    .await?
    .rows_affected());
    if n == 0 {
        return Ok(None);
    }
    let after = get_in(tx, r.id).await?;
    events::append(
        tx,
        NewEvent::internal(
            "registry.abnormal.removal_request_decided",
            json!({"request_id": r.id, "listing_id": r.listing_id, "uscc": r.uscc,
                   "decision": state, "decided_on": today,
                   "removal_decision_no": after.removal_decision_no}),
        )
        .uscc(&r.uscc)
        .division(&r.division)
        .actor(actor.label()),
    )
    .await?;
    audit::record(
        tx,
        actor,
        audit::Change {
            action: match state {
                "approved" => "abnormal.request_approve",
                "refused" => "abnormal.request_refuse",
                _ => "abnormal.request_close",
            },
            target_kind: "entity",
            target_id: r.uscc.clone(),
            division: Some(r.division.clone()),
            before: Some(json!(r)),
            after: Some(json!(after)),
        },
    )
    .await?;
    Ok(Some(after))
}

/// Every request of an entity, newest first (at most 200).
pub async fn for_entity(db: &Db, uscc: &str) -> Result<Vec<Request>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM abnormal_removal_requests WHERE uscc = $1 ORDER BY id DESC LIMIT 200"
    );
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(uscc)
        .fetch_all(c)
        .await?))
}

/// A request's states: open, then approved or refused by an officer, or closed because the
/// listing left the list otherwise.
pub const STATES: [&str; 4] = ["open", "approved", "refused", "closed"];

/// Page size of the officers' queue.
pub const PAGE: i64 = 50;

/// A request with the listing it is about, for the queue.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct QueueItem {
    #[serde(flatten)]
    #[sqlx(flatten)]
    pub request: Request,
    pub name: String,
    pub listing_ground: String,
    pub listing_decision_no: String,
    pub listed_on: NaiveDate,
}

/// The requests within `scope` in `state` (`open`, `approved`, `refused`), oldest open first
/// (newest first for decided ones), page `page` (from 1); and whether another page follows.
pub async fn queue(
    db: &Db,
    scope: &Scope,
    state: &str,
    page: i64,
) -> Result<(Vec<QueueItem>, bool), AppError> {
    if !STATES.contains(&state) {
        return Err(AppError::bad_request(
            "state",
            "状态应为 open、approved、refused 或 closed (state must be open, approved, refused or closed)",
        ));
    }
    if !(1..=10_000).contains(&page) {
        return Err(AppError::bad_request(
            "page",
            "页码应为 1–10000 (page must be 1–10000)",
        ));
    }
    let order = if state == "open" { "ASC" } else { "DESC" };
    let cols: String = COLUMNS
        .split(", ")
        .map(|c| format!("r.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {cols}, l.name AS name, l.ground AS listing_ground, \
         l.decision_no AS listing_decision_no, l.listed_on AS listed_on \
         FROM abnormal_removal_requests r JOIN abnormal_listings l ON l.id = r.listing_id \
         WHERE r.state = $1 AND {} ORDER BY r.id {order} LIMIT $3 OFFSET $4",
        scope.division_filter("r.division", 2)
    );
    let mut items: Vec<QueueItem> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(state)
        .bind(scope.like_pattern())
        .bind(PAGE + 1)
        .bind((page - 1) * PAGE)
        .fetch_all(c)
        .await?);
    let more = items.len() as i64 > PAGE;
    items.truncate(PAGE as usize);
    Ok((items, more))
}
