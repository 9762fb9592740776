//! The SQL of advance compensation, on both backends.
//!
//! Jurisdiction: officers act on pledges whose `division` (the market's domicile) is in their
//! scope, and record payments on complaints they see (the payment takes the complaint's
//! division; figures count the payments in the officer's scope). An enterprise account acts
//! on its own USCC's pledge only.
//! Events: `consumer.compensation.pledged` and `.withdrawn` are public; `.paid` and
//! `.recovered` are internal (they belong to a consumer's complaint).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use amr_kernel::audit::{self, Change};
use amr_kernel::auth::Scope;
use amr_kernel::codes::uscc::Uscc;
use amr_kernel::db::{Db, Tx, TxInner};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::matter::Matter;
use amr_kernel::{on_conn, on_tx};

use super::{parse_kind, positive_yuan};
use crate::complaint::model::yuan;
use crate::complaint::{self, Business};
use crate::pledge::input::{self, Caller, now};

/// A market's or platform's pledge (public).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Pledge {
    pub id: i64,
    pub uscc: String,
    pub name: String,
    pub division: String,
    pub kind: String,
    pub scope: String,
    pub limit_fen: i64,
    pub valid_from: NaiveDate,
    pub status: String,
    pub withdrawn_on: Option<NaiveDate>,
    pub recorded_via: String,
    pub created_at: DateTime<Utc>,
}

const PLEDGE_COLUMNS: &str = "id, uscc, name, division, kind, scope, limit_fen, valid_from, status, \
     withdrawn_on, recorded_via, created_at";

/// A payment on a complaint (officers only).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Payment {
    pub id: i64,
    pub complaint_number: String,
    pub pledge_id: i64,
    pub payer_uscc: String,
    pub division: String,
    pub seller_name: String,
    pub seller_uscc: Option<String>,
    pub amount_fen: i64,
    pub paid_on: NaiveDate,
    pub recovered_fen: i64,
    pub recorded_by: String,
    pub created_at: DateTime<Utc>,
}

const PAYMENT_COLUMNS: &str = "id, complaint_number, pledge_id, payer_uscc, division, seller_name, \
     seller_uscc, amount_fen, paid_on, recovered_fen, recorded_by, created_at";

fn lock(tx: &Tx) -> &'static str {
    match tx.inner {
        TxInner::Postgres(_) => " FOR UPDATE",
        TxInner::Sqlite(_) => "",
    }
}

/// A pledge as made.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PledgeInput {
    /// Only when an officer records it.
    pub uscc: String,
    pub kind: String,
    pub scope: String,
    /// The most paid on one complaint, in yuan.
    pub limit: String,
    pub valid_from: String,
}

/// A market or platform pledges (its own account), or an officer of its jurisdiction
/// records the pledge. One pledge in force per USCC (409).
pub async fn make(
    tx: &mut Tx,
    caller: &Caller,
    business: &Business,
    input: &PledgeInput,
    today: NaiveDate,
) -> Result<Pledge, AppError> {
    let via = if caller.is_officer() {
        if !caller.scope().contains(Some(business.division.as_str())) {
            return Err(AppError::NotFound);
        }
        "officer"
    } else if caller.uscc() == Some(business.uscc.as_str()) {
        "enterprise"
    } else {
        return Err(AppError::forbidden());
    };
    if !business.active {
        return Err(AppError::rejected(
            "该经营者已注销或被吊销，不能作出承诺 (the business is deregistered or revoked)",
        ));
    }
    let kind = parse_kind(&input.kind)?;
    let scope = input::text("scope", &input.scope, 4, 1000, "先行赔付的范围")?;
    let limit = positive_yuan("limit", &input.limit)?;
    let valid_from = input::date("valid_from", &input.valid_from, "承诺生效日期", Some(today))?;
    let sql = format!(
        "SELECT id FROM compensation_pledges WHERE uscc = $1 AND status = 'active'{}",
        lock(tx)
    );
    let open: Option<i64> = on_tx!(tx, c => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(&business.uscc)
        .fetch_optional(&mut *c)
        .await?);
    if let Some(id) = open {
        return Err(AppError::Conflict(format!(
            "该经营者已有有效的先行赔付承诺（{id} 号），请先撤回 (pledge {id} is in force; withdraw it first)"
        )));
    }
    let at = now();
    let id: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO compensation_pledges (uscc, name, division, kind, scope, limit_fen, valid_from, \
         status, recorded_via, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $9, $9) RETURNING id",
    )
    .bind(&business.uscc)
    .bind(&business.name)
    .bind(&business.division)
    .bind(kind)
    .bind(&scope)
    .bind(limit)
    .bind(valid_from)
    .bind(via)
    .bind(at)
    .fetch_one(&mut *c)
    .await?);
    events::append(
        tx,
        NewEvent::public(
            "consumer.compensation.pledged",
            json!({"id": id, "uscc": business.uscc, "name": business.name, "kind": kind, "limit": yuan(limit), "valid_from": valid_from}),
        )
        .division(&business.division)
        .uscc(&business.uscc)
        .actor(caller.acting.actor.label()),
    )
    .await?;
    audit::record(
        tx,
        &caller.acting.actor,
        Change {
            action: "compensation.pledge",
            target_kind: "compensation_pledge",
            target_id: id.to_string(),
            division: Some(business.division.clone()),
            before: None,
            after: Some(json!({"kind": kind, "scope": scope, "limit_fen": limit, "valid_from": valid_from, "via": via})),
        },
    )
    .await?;
    pledge_in(tx, id).await
}

async fn pledge_in(tx: &mut Tx, id: i64) -> Result<Pledge, AppError> {
    let sql = format!("SELECT {PLEDGE_COLUMNS} FROM compensation_pledges WHERE id = $1");
    let row: Option<Pledge> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *c)
        .await?);
    row.ok_or(AppError::NotFound)
}

/// Withdraws a pledge in force (its market, or an officer of its jurisdiction), today.
pub async fn withdraw(
    tx: &mut Tx,
    caller: &Caller,
    id: i64,
    today: NaiveDate,
) -> Result<Pledge, AppError> {
    let sql = format!(
        "SELECT {PLEDGE_COLUMNS} FROM compensation_pledges WHERE id = $1 AND ({} OR uscc = $3){}",
        caller.scope().division_filter("division", 2),
        lock(tx)
    );
    let uscc = if caller.is_officer() {
        None
    } else {
        caller.uscc().map(str::to_string)
    };
    let p: Option<Pledge> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(caller.scope().like_pattern())
        .bind(&uscc)
        .fetch_optional(&mut *c)
        .await?);
    let p = p.ok_or(AppError::NotFound)?;
    if p.status != "active" {
        return Err(AppError::rejected(
            "该承诺已撤回 (the pledge is already withdrawn)",
        ));
    }
    on_tx!(tx, c => sqlx::query(
        "UPDATE compensation_pledges SET status = 'withdrawn', withdrawn_on = $1, updated_at = $2 WHERE id = $3",
    )
    .bind(today)
    .bind(now())
    .bind(id)
    .execute(&mut *c)
    .await?
    .rows_affected());
    events::append(
        tx,
        NewEvent::public(
            "consumer.compensation.withdrawn",
            json!({"id": id, "uscc": p.uscc, "withdrawn_on": today}),
        )
        .division(&p.division)
        .uscc(&p.uscc)
        .actor(caller.acting.actor.label()),
    )
    .await?;
    audit::record(
        tx,
        &caller.acting.actor,
        Change {
            action: "compensation.withdraw",
            target_kind: "compensation_pledge",
            target_id: id.to_string(),
            division: Some(p.division.clone()),
            before: Some(json!({"status": p.status})),
            after: Some(json!({"status": "withdrawn", "withdrawn_on": today})),
        },
    )
    .await?;
    pledge_in(tx, id).await
}

/// A payment as an officer records it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PaymentInput {
    pub complaint_number: String,
    /// The market or platform that paid.
    pub payer_uscc: String,
    /// The seller complained about (its name; its USCC when known, else the complaint's).
    pub seller_name: String,
    pub seller_uscc: String,
    pub amount: String,
    pub paid_on: String,
}

/// Records that a market paid the consumer of `complaint` first (the complaint read by the
/// caller within the officer's scope): the payment row, a message on the complaint's
/// timeline, the event and the audit entry. The payer must have a pledge in force on the
/// day, the amount within its limit; one payment per complaint (409).
pub async fn pay(
    tx: &mut Tx,
    caller: &Caller,
    complaint: &Matter,
    input: &PaymentInput,
    today: NaiveDate,
) -> Result<Payment, AppError> {
    if !caller.is_officer() {
        return Err(AppError::forbidden());
    }
    let payer = Uscc::parse(input.payer_uscc.trim())
        .map_err(|e| AppError::bad_request("payer_uscc", e))?
        .as_str()
        .to_string();
    let seller_name = input::text(
        "seller_name",
        &input.seller_name,
        2,
        100,
        "被投诉的销售者名称",
    )?;
    let seller_uscc = match input.seller_uscc.trim() {
        "" => complaint.uscc.clone(),
        u => Some(
            Uscc::parse(u)
                .map_err(|e| AppError::bad_request("seller_uscc", e))?
                .as_str()
                .to_string(),
        ),
    };
    if seller_uscc.as_deref() == Some(payer.as_str()) {
        return Err(AppError::bad_request(
            "payer_uscc",
            "先行赔付的是市场或平台，不是被投诉的销售者本身 (the payer is the market, not the seller)",
        ));
    }
    let amount = positive_yuan("amount", &input.amount)?;
    let paid_on = input::date("paid_on", &input.paid_on, "赔付日期", None)?;
    if paid_on > today {
        return Err(AppError::bad_request(
            "paid_on",
            "赔付日期不能晚于今天 (the payment cannot be dated in the future)",
        ));
    }
    let sql = format!(
        "SELECT {PLEDGE_COLUMNS} FROM compensation_pledges WHERE uscc = $1 AND valid_from <= $2 \
         AND (withdrawn_on IS NULL OR withdrawn_on > $2) ORDER BY id DESC LIMIT 1"
    );
    let pledge: Option<Pledge> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&payer)
        .bind(paid_on)
        .fetch_optional(&mut *c)
        .await?);
    let pledge = pledge.ok_or_else(|| {
        AppError::rejected(format!(
            "{payer} 在 {paid_on} 没有有效的先行赔付承诺 (no advance-compensation pledge in force on that day)"
        ))
    })?;
    if amount > pledge.limit_fen {
        return Err(AppError::bad_request(
            "amount",
            format!(
                "超过承诺的单笔赔付上限 {} 元 (over the pledge's limit of {} yuan)",
                yuan(pledge.limit_fen),
                yuan(pledge.limit_fen)
            ),
        ));
    }
    let seen: Option<i64> = on_tx!(tx, c => sqlx::query_scalar(
        "SELECT id FROM compensation_payments WHERE complaint_number = $1",
    )
    .bind(&complaint.number)
    .fetch_optional(&mut *c)
    .await?);
    if seen.is_some() {
        return Err(AppError::Conflict(format!(
            "投诉 {} 已记录先行赔付 (complaint {} already has an advance payment)",
            complaint.number, complaint.number
        )));
    }
    let message = format!(
        "先行赔付：{}（{}）于 {paid_on} 向消费者先行赔付 {} 元，被投诉销售者：{seller_name} (advance compensation paid by the market)",
        pledge.name,
        pledge.uscc,
        yuan(amount)
    );
    complaint::engine()
        .add_message(tx, &caller.acting, &complaint.number, &message, false)
        .await?;
    let id: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO compensation_payments (complaint_number, pledge_id, payer_uscc, division, seller_name, \
         seller_uscc, amount_fen, paid_on, recovered_fen, recorded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10) RETURNING id",
    )
    .bind(&complaint.number)
    .bind(pledge.id)
    .bind(&payer)
    .bind(&complaint.division)
    .bind(&seller_name)
    .bind(&seller_uscc)
    .bind(amount)
    .bind(paid_on)
    .bind(caller.acting.actor.label())
    .bind(now())
    .fetch_one(&mut *c)
    .await?);
    events::append(
        tx,
        NewEvent::internal(
            "consumer.compensation.paid",
            json!({"payment": id, "complaint": complaint.number, "payer": payer, "amount": yuan(amount), "paid_on": paid_on}),
        )
        .division(&complaint.division)
        .uscc(&payer)
        .actor(caller.acting.actor.label()),
    )
    .await?;
    audit::record(
        tx,
        &caller.acting.actor,
        Change {
            action: "compensation.pay",
            target_kind: "compensation_payment",
            target_id: id.to_string(),
            division: Some(complaint.division.clone()),
            before: None,
            after: Some(json!({"complaint": complaint.number, "payer": payer, "seller": seller_name, "amount_fen": amount, "paid_on": paid_on})),
        },
    )
    .await?;
    payment_in(tx, id).await
}

async fn payment_in(tx: &mut Tx, id: i64) -> Result<Payment, AppError> {
    let sql = format!("SELECT {PAYMENT_COLUMNS} FROM compensation_payments WHERE id = $1");
    let row: Option<Payment> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *c)
        .await?);
    row.ok_or(AppError::NotFound)
}

/// A recovery as an officer records it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RecoveryInput {
    pub amount: String,
    pub recovered_on: String,
}

/// Records what the market recovered from the seller on the payment of `complaint` (a
/// complaint the officer sees): the amounts recovered never exceed the amount paid, and a
/// recovery is not dated before the payment.
pub async fn recover(
    tx: &mut Tx,
    caller: &Caller,
    complaint: &Matter,
    input: &RecoveryInput,
    today: NaiveDate,
) -> Result<Payment, AppError> {
    if !caller.is_officer() {
        return Err(AppError::forbidden());
    }
    let amount = positive_yuan("amount", &input.amount)?;
    let on = input::date("recovered_on", &input.recovered_on, "追偿日期", None)?;
    let sql = format!(
        "SELECT {PAYMENT_COLUMNS} FROM compensation_payments WHERE complaint_number = $1{}",
        lock(tx)
    );
    let p: Option<Payment> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&complaint.number)
        .fetch_optional(&mut *c)
        .await?);
    let p = p.ok_or_else(|| {
        AppError::rejected(format!(
            "投诉 {} 没有先行赔付记录 (complaint {} has no advance payment)",
            complaint.number, complaint.number
        ))
    })?;
    if on > today || on < p.paid_on {
        return Err(AppError::bad_request(
            "recovered_on",
            "追偿日期应在赔付日期与今天之间 (the recovery is dated between the payment and today)",
        ));
    }
    if p.recovered_fen + amount > p.amount_fen {
        return Err(AppError::bad_request(
            "amount",
            format!(
                "追偿合计不能超过先行赔付的 {} 元（已追偿 {} 元） (recoveries cannot exceed the {} yuan paid; {} recovered)",
                yuan(p.amount_fen),
                yuan(p.recovered_fen),
                yuan(p.amount_fen),
                yuan(p.recovered_fen)
            ),
        ));
    }
    let message = format!(
        "先行赔付追偿：{on} 向销售者 {} 追偿 {} 元，累计 {} 元 (recovered from the seller)",
        p.seller_name,
        yuan(amount),
        yuan(p.recovered_fen + amount)
    );
    complaint::engine()
        .add_message(tx, &caller.acting, &complaint.number, &message, false)
        .await?;
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO compensation_recoveries (payment_id, amount_fen, recovered_on, recorded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(p.id)
    .bind(amount)
    .bind(on)
    .bind(caller.acting.actor.label())
    .bind(now())
    .execute(&mut *c)
    .await?
    .rows_affected());
    on_tx!(tx, c => sqlx::query("UPDATE compensation_payments SET recovered_fen = recovered_fen + $1 WHERE id = $2")
        .bind(amount)
        .bind(p.id)
        .execute(&mut *c)
        .await?
        .rows_affected());
    events::append(
        tx,
        NewEvent::internal(
            "consumer.compensation.recovered",
            json!({"payment": p.id, "complaint": complaint.number, "amount": yuan(amount), "recovered_on": on}),
        )
        .division(&p.division)
        .uscc(&p.payer_uscc)
        .actor(caller.acting.actor.label()),
    )
    .await?;
    audit::record(
        tx,
        &caller.acting.actor,
        Change {
            action: "compensation.recover",
            target_kind: "compensation_payment",
            target_id: p.id.to_string(),
            division: Some(p.division.clone()),
            before: Some(json!({"recovered_fen": p.recovered_fen})),
            after: Some(json!({"recovered_fen": p.recovered_fen + amount, "amount_fen": amount, "recovered_on": on})),
        },
    )
    .await?;
    payment_in(tx, p.id).await
}

// ----- reads ------------------------------------------------------------------------------

/// Pledges within `scope`, newest first (at most 200; a jurisdiction's markets and platforms
/// are counted in hundreds).
pub async fn pledges(db: &Db, scope: &Scope) -> Result<Vec<Pledge>, AppError> {
    let sql = format!(
        "SELECT {PLEDGE_COLUMNS} FROM compensation_pledges WHERE {} ORDER BY id DESC LIMIT 200",
        scope.division_filter("division", 1)
    );
    Ok(
        on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(scope.like_pattern()).fetch_all(c).await?),
    )
}

/// The pledges of one USCC, newest first.
pub async fn pledges_of(db: &Db, uscc: &str) -> Result<Vec<Pledge>, AppError> {
    let sql = format!(
        "SELECT {PLEDGE_COLUMNS} FROM compensation_pledges WHERE uscc = $1 ORDER BY id DESC LIMIT 20"
    );
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(uscc).fetch_all(c).await?))
}

/// The payment on a complaint within `scope`, if any.
pub async fn payment_of(db: &Db, scope: &Scope, number: &str) -> Result<Option<Payment>, AppError> {
    let sql = format!(
        "SELECT {PAYMENT_COLUMNS} FROM compensation_payments WHERE complaint_number = $1 AND {}",
        scope.division_filter("division", 2)
    );
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(number)
        .bind(scope.like_pattern())
        .fetch_optional(c)
        .await?))
}

/// The latest payments within `scope` (at most 100), newest first; of one payer if given.
pub async fn payments(
    db: &Db,
    scope: &Scope,
    payer: Option<&str>,
) -> Result<Vec<Payment>, AppError> {
    let sql = format!(
        "SELECT {PAYMENT_COLUMNS} FROM compensation_payments WHERE {} AND ($2 = '' OR payer_uscc = $2) \
         ORDER BY id DESC LIMIT 100",
        scope.division_filter("division", 1)
    );
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(scope.like_pattern())
        .bind(payer.unwrap_or(""))
        .fetch_all(c)
        .await?))
}

/// The figures of one market or platform.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Figures {
    pub payer_uscc: String,
    pub name: String,
    pub payments: i64,
    pub paid_fen: i64,
    pub recovered_fen: i64,
}

/// Paid in advance and recovered, per market, over the payments within `scope` (of one
/// payer if given), largest paid first. Summed in the database (an index on the payer).
pub async fn figures(
    db: &Db,
    scope: &Scope,
    payer: Option<&str>,
) -> Result<Vec<Figures>, AppError> {
    let sql = format!(
        "SELECT p.payer_uscc, MAX(k.name) AS name, COUNT(*) AS payments, \
         CAST(SUM(p.amount_fen) AS BIGINT) AS paid_fen, CAST(SUM(p.recovered_fen) AS BIGINT) AS recovered_fen \
         FROM compensation_payments p JOIN compensation_pledges k ON k.id = p.pledge_id \
         WHERE {} AND ($2 = '' OR p.payer_uscc = $2) GROUP BY p.payer_uscc ORDER BY paid_fen DESC, p.payer_uscc",
        scope.division_filter("p.division", 1)
    );
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(scope.like_pattern())
        .bind(payer.unwrap_or(""))
        .fetch_all(c)
        .await?))
}
