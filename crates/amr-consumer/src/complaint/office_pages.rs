//! The officers' pages: `/office/complaints` (the jurisdiction's queue by deadline, the
//! overdue marked), `/office/complaints/{number}` (the matter, its actions: `POST .../act`,
//! `POST .../transfer`), `/office/complaints/odr` (ODR participants and response rates;
//! `POST` marks one), `/office/complaints/ledger.{csv,xlsx}` (the ledger).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use amr_kernel::auth::Role;
use amr_kernel::error::AppError;
use amr_web::AppState;
use amr_web::extract::{PageForm, PageQuery};
use amr_web::page::{PageError, Viewer, render};

use super::api::{self, QueueQuery};
use super::flow::{self, OfficerAct};
use super::pages::{kinds_json, officer};
use super::{Deps, kinds, model, store, today};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/office/complaints", get(office_list))
        .route("/office/complaints/odr", get(odr_page).post(post_odr))
        .route("/office/complaints/ledger.csv", get(ledger_csv))
        .route("/office/complaints/ledger.xlsx", get(ledger_xlsx))
        .route("/office/complaints/{number}", get(office_item))
        .route("/office/complaints/{number}/act", post(post_act))
        .route("/office/complaints/{number}/transfer", post(post_transfer))
}

/// `GET /office/complaints?kind=&overdue=`: the jurisdiction's open matters, earliest
/// deadline first, the overdue marked.
pub async fn office_list(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<QueueQuery>,
) -> Result<Response, PageError> {
    let acting = officer(&viewer)?;
    let f = api::queue_filters(&q)?;
    let as_of = today(&state);
    let (rows, next) = store::queue(
        &state.db,
        &acting.scope,
        f.kind,
        f.overdue.then_some(as_of),
        f.after,
        100,
    )
    .await?;
    let items: Vec<Value> = rows.iter().map(|r| api::queue_row(r, as_of)).collect();
    let page = json!({
        "items": items, "as_of": as_of, "kinds": kinds_json(),
        "q": {"kind": f.kind.unwrap_or(""), "overdue": f.overdue},
        "next": next.as_ref().map(store::cursor_text),
    });
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "complaint/office_list.html",
        page,
    )
}

/// `GET /office/complaints/{number}`.
pub async fn office_item(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(number): Path<String>,
) -> Result<Response, PageError> {
    let acting = officer(&viewer)?;
    let item = api::office_item(&state, &acting, &number).await?;
    let grounds: Vec<Value> = kinds::DECLINE_GROUNDS
        .iter()
        .map(|(c, zh, en)| json!({"code": c, "zh": zh, "en": en}))
        .collect();
    let outcomes: Vec<Value> = match kinds::CLOSE_OUTCOME {
        amr_kernel::matter::Field::Choice { choices, .. } => choices
            .iter()
            .map(|c| json!({"code": c.value, "zh": c.label.zh, "en": c.label.en}))
            .collect(),
        _ => vec![],
    };
    let confidence = if item["kind"] == "complaint" {
        let number = item["number"].as_str().unwrap_or_default().to_string();
        let uscc = item["uscc"].as_str().map(str::to_string);
        Some(confidence(&state, &acting, &number, uscc.as_deref()).await?)
    } else {
        None
    };
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "complaint/office_item.html",
        json!({
            "m": item, "grounds": grounds, "outcomes": outcomes,
            "categories": super::category::grouped(), "confidence": confidence,
            "today": today(&state),
        }),
    )
}

/// What the complaint's officer page offers of consumer confidence: the business's
/// no-reason-return pledges (a breach recorded from here names this complaint), and the
/// advance compensation on this complaint (the payment, or the form to record one with the
/// active market and platform pledges of the jurisdiction to choose the payer from; then
/// the recoveries).
async fn confidence(
    state: &AppState,
    acting: &amr_kernel::matter::Acting,
    number: &str,
    uscc: Option<&str>,
) -> Result<Value, AppError> {
    let mut pledges = Vec::new();
    if let Some(u) = uscc {
        for p in crate::pledge::store::of_uscc(&state.db, u).await? {
            let breached = crate::pledge::store::breaches(&state.db, p.id)
                .await?
                .iter()
                .any(|b| b.complaint_number == number);
            pledges.push(json!({
                "id": p.id, "shop_name": p.shop_name, "days": p.days,
                "valid_from": p.valid_from, "status": p.status, "withdrawn_on": p.withdrawn_on,
                "breaches": p.breaches, "breached_here": breached,
            }));
        }
    }
    let payment = crate::compensation::store::payment_of(&state.db, &acting.scope, number)
        .await?
        .map(|p| {
            json!({
                "payer_uscc": p.payer_uscc, "seller_name": p.seller_name,
                "amount": model::yuan(p.amount_fen), "paid_on": p.paid_on,
                "recovered": model::yuan(p.recovered_fen),
                "outstanding": model::yuan(p.amount_fen - p.recovered_fen),
            })
        });
    let markets: Vec<Value> = crate::compensation::store::pledges(&state.db, &acting.scope)
        .await?
        .into_iter()
        .filter(|p| p.status == "active")
        .map(|p| json!({"uscc": p.uscc, "name": p.name, "limit": model::yuan(p.limit_fen)}))
        .collect();
    Ok(json!({"pledges": pledges, "payment": payment, "markets": markets}))
}

#[derive(Debug, Default, Deserialize)]
pub struct ActForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    input: OfficerAct,
}

/// `POST /office/complaints/{number}/act`.
pub async fn post_act(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(number): Path<String>,
    PageForm(f): PageForm<ActForm>,
) -> Result<Response, PageError> {
    let acting = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let m = flow::officer_act(&state.db, &acting, &number, &f.input, today(&state)).await?;
    Ok(Redirect::to(&format!("/office/complaints/{}", m.number)).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TransferForm {
    csrf: String,
    version: String,
    division: String,
    reason: String,
}

/// `POST /office/complaints/{number}/transfer`: to the queue (the matter has left it).
pub async fn post_transfer(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(number): Path<String>,
    PageForm(f): PageForm<TransferForm>,
) -> Result<Response, PageError> {
    let acting = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    flow::transfer(
        &state.db,
        &acting,
        &number,
        &f.version,
        &f.division,
        &f.reason,
    )
    .await?;
    Ok(Redirect::to("/office/complaints").into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LedgerQuery {
    kind: String,
    from: String,
    to: String,
}

fn ledger_date(field: &str, v: &str) -> Result<Option<chrono::NaiveDate>, AppError> {
    match v.trim() {
        "" => Ok(None),
        d => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| {
                AppError::bad_request(field, "日期格式为 YYYY-MM-DD (a date is YYYY-MM-DD)")
            }),
    }
}

/// The ledger (台账) of one kind within the officer's jurisdiction, by creation period,
/// through the kernel's export (CSV with a BOM, or XLSX).
async fn ledger(
    viewer: Viewer,
    state: AppState,
    q: LedgerQuery,
    format: amr_kernel::matter::Format,
) -> Result<Response, PageError> {
    use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
    let acting = officer(&viewer)?;
    let kind = match q.kind.trim() {
        "" => "complaint",
        k => kinds::spec(k)
            .ok_or_else(|| {
                AppError::bad_request(
                    "kind",
                    "类别应为 complaint、report 或 help (the kind is complaint, report or help)",
                )
            })?
            .name,
    };
    let filter = amr_kernel::matter::ExportFilter {
        kind: Some(kind.to_string()),
        from: ledger_date("from", &q.from)?,
        to: ledger_date("to", &q.to)?,
        jurisdiction: None,
        as_of: today(&state),
    };
    let mut buf = Vec::new();
    super::engine()
        .export(&state.db, &acting.scope, &filter, format, &mut buf)
        .await?;
    let (ctype, ext) = match format {
        amr_kernel::matter::Format::Csv => ("text/csv; charset=utf-8", "csv"),
        amr_kernel::matter::Format::Xlsx => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
    };
    Ok((
        [
            (CONTENT_TYPE, ctype.to_string()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"ledger-{kind}.{ext}\""),
            ),
        ],
        buf,
    )
        .into_response())
}

/// `GET /office/complaints/ledger.csv?kind=&from=&to=`.
pub async fn ledger_csv(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<LedgerQuery>,
) -> Result<Response, PageError> {
    ledger(viewer, state, q, amr_kernel::matter::Format::Csv).await
}

/// `GET /office/complaints/ledger.xlsx?kind=&from=&to=`.
pub async fn ledger_xlsx(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<LedgerQuery>,
) -> Result<Response, PageError> {
    ledger(viewer, state, q, amr_kernel::matter::Format::Xlsx).await
}

/// `GET /office/complaints/odr`: the ODR participants with their response rates.
pub async fn odr_page(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let acting = officer(&viewer)?;
    let items = api::odr_list(&state, &acting).await?;
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "complaint/odr.html",
        json!({"items": items}),
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OdrForm {
    csrf: String,
    uscc: String,
    active: String,
}

/// `POST /office/complaints/odr`: marks a business of the jurisdiction as an ODR
/// participant (`active=true`) or ends it (`active=false`).
pub async fn post_odr(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(deps): Extension<Deps>,
    PageForm(f): PageForm<OdrForm>,
) -> Result<Response, PageError> {
    let acting = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    if acting.role != Some(Role::Officer) {
        return Err(AppError::forbidden().into());
    }
    let active = match f.active.trim() {
        "" | "true" => true,
        "false" => false,
        _ => {
            return Err(AppError::bad_request(
                "active",
                "active 应为 true 或 false (active is true or false)",
            )
            .into());
        }
    };
    flow::mark_odr(
        &state.db,
        deps.registry.as_ref(),
        &acting.actor,
        &acting.scope,
        &f.uscc,
        active,
        today(&state),
    )
    .await?;
    Ok(Redirect::to("/office/complaints/odr").into_response())
}
