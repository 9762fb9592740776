//! The routes of advance compensation.
//!
//! Officers (their jurisdiction): `GET /office/compensation` (pledges, figures per market,
//! the latest payments; the forms), `POST /office/compensation/pledges`, `POST
//! /office/compensation/pledges/{id}/withdraw`, `POST /office/compensation/payments`, `POST
//! /office/compensation/recoveries`; JSON `GET/POST /api/v1/office/compensation/pledges`,
//! `POST /api/v1/office/compensation/pledges/{id}/withdraw`, `GET
//! /api/v1/office/compensation/figures`, `GET /api/v1/office/compensation/payments`, `POST
//! /api/v1/office/complaints/{number}/advance-payment`, `POST
//! /api/v1/office/complaints/{number}/advance-recovery`, `GET
//! /api/v1/office/complaints/{number}/advance-payment`.
//! The market or platform (enterprise account): `GET/POST /portal/compensation`, `POST
//! /portal/compensation/{id}/withdraw`; JSON `POST /api/v1/portal/compensation`.
//! Public: `GET /api/v1/compensation/pledges/{uscc}` (a market's pledges).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use amr_kernel::auth::Scope;
use amr_kernel::codes::uscc::Uscc;
use amr_kernel::error::AppError;
use amr_web::AppState;
use amr_web::auth::{ApiCaller, MaybeSession};
use amr_web::error::ApiError;
use amr_web::extract::{PageForm, PageQuery};
use amr_web::page::{PageError, Viewer, render};

use super::store::{self, Figures, Payment, PaymentInput, Pledge, PledgeInput, RecoveryInput};
use crate::complaint::model::yuan;
use crate::complaint::{Deps, today};
use crate::pledge::input::{self, Caller};
use crate::pledge::web::{back_to_complaint, business_for, parse_id};

pub fn api_routes(deps: Deps) -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/compensation/pledges/{uscc}",
            get(api_public_pledges),
        )
        .route("/api/v1/portal/compensation", post(api_portal_make))
        .route(
            "/api/v1/office/compensation/pledges",
            get(api_office_pledges).post(api_office_make),
        )
        .route(
            "/api/v1/office/compensation/pledges/{id}/withdraw",
            post(api_office_withdraw),
        )
        .route("/api/v1/office/compensation/figures", get(api_figures))
        .route("/api/v1/office/compensation/payments", get(api_payments))
        .route(
            "/api/v1/office/complaints/{number}/advance-payment",
            get(api_payment_of).post(api_pay),
        )
        .route(
            "/api/v1/office/complaints/{number}/advance-recovery",
            post(api_recover),
        )
        .layer(Extension(deps))
}

pub fn page_routes(deps: Deps) -> Router<AppState> {
    Router::new()
        .route("/office/compensation", get(office_page))
        .route("/office/compensation/pledges", post(post_office_make))
        .route(
            "/office/compensation/pledges/{id}/withdraw",
            post(post_office_withdraw),
        )
        .route("/office/compensation/payments", post(post_pay))
        .route("/office/compensation/recoveries", post(post_recover))
        .route(
            "/portal/compensation",
            get(portal_page).post(post_portal_make),
        )
        .route(
            "/portal/compensation/{id}/withdraw",
            post(post_portal_withdraw),
        )
        .layer(Extension(deps))
}

fn pledge_view(p: &Pledge) -> Value {
    json!({
        "id": p.id, "uscc": p.uscc, "name": p.name, "division": p.division, "kind": p.kind,
        "scope": p.scope, "limit": yuan(p.limit_fen), "valid_from": p.valid_from,
        "status": p.status, "withdrawn_on": p.withdrawn_on, "recorded_via": p.recorded_via,
    })
}

fn payment_view(p: &Payment) -> Value {
    json!({
        "id": p.id, "complaint_number": p.complaint_number, "payer_uscc": p.payer_uscc,
        "division": p.division, "seller_name": p.seller_name, "seller_uscc": p.seller_uscc,
        "amount": yuan(p.amount_fen), "paid_on": p.paid_on, "recovered": yuan(p.recovered_fen),
        "outstanding": yuan(p.amount_fen - p.recovered_fen), "recorded_by": p.recorded_by,
    })
}

fn figures_view(f: &[Figures]) -> Value {
    let (paid, recovered, count) = f.iter().fold((0i64, 0i64, 0i64), |a, x| {
        (a.0 + x.paid_fen, a.1 + x.recovered_fen, a.2 + x.payments)
    });
    json!({
        "markets": f.iter().map(|x| json!({
            "payer_uscc": x.payer_uscc, "name": x.name, "payments": x.payments,
            "paid": yuan(x.paid_fen), "recovered": yuan(x.recovered_fen),
            "outstanding": yuan(x.paid_fen - x.recovered_fen),
        })).collect::<Vec<_>>(),
        "total": {"payments": count, "paid": yuan(paid), "recovered": yuan(recovered), "outstanding": yuan(paid - recovered)},
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PayerQuery {
    payer: String,
}

impl PayerQuery {
    fn parse(&self) -> Result<Option<String>, AppError> {
        match self.payer.trim() {
            "" => Ok(None),
            u => Ok(Some(
                Uscc::parse(u)
                    .map_err(|e| AppError::bad_request("payer", e))?
                    .as_str()
                    .to_string(),
            )),
        }
    }
}

// ----- the use cases ----------------------------------------------------------------------

async fn make(
    state: &AppState,
    deps: &Deps,
    c: &Caller,
    input: &PledgeInput,
) -> Result<Pledge, AppError> {
    let business = business_for(deps, c, &input.uscc).await?;
    let mut tx = state.db.begin().await?;
    let p = store::make(&mut tx, c, &business, input, today(state)).await?;
    tx.commit().await?;
    Ok(p)
}

async fn withdraw(state: &AppState, c: &Caller, id: &str) -> Result<Pledge, AppError> {
    let id = parse_id(id)?;
    let mut tx = state.db.begin().await?;
    let p = store::withdraw(&mut tx, c, id, today(state)).await?;
    tx.commit().await?;
    Ok(p)
}

async fn pay(
    state: &AppState,
    c: &Caller,
    number: &str,
    input: &PaymentInput,
) -> Result<Payment, AppError> {
    let complaint =
        input::complaint_matter(&state.db, &c.acting, "complaint_number", number).await?;
    let mut tx = state.db.begin().await?;
    let p = store::pay(&mut tx, c, &complaint, input, today(state)).await?;
    tx.commit().await?;
    Ok(p)
}

async fn recover(
    state: &AppState,
    c: &Caller,
    number: &str,
    input: &RecoveryInput,
) -> Result<Payment, AppError> {
    let complaint =
        input::complaint_matter(&state.db, &c.acting, "complaint_number", number).await?;
    let mut tx = state.db.begin().await?;
    let p = store::recover(&mut tx, c, &complaint, input, today(state)).await?;
    tx.commit().await?;
    Ok(p)
}

// ----- JSON -------------------------------------------------------------------------------

/// `GET /api/v1/compensation/pledges/{uscc}`: a market's or platform's pledges (public).
pub async fn api_public_pledges(
    State(state): State<AppState>,
    Path(uscc): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let u = Uscc::parse(uscc.trim()).map_err(|e| AppError::bad_request("uscc", e))?;
    let list = store::pledges_of(&state.db, u.as_str()).await?;
    Ok(Json(
        json!({"pledges": list.iter().map(pledge_view).collect::<Vec<_>>()}),
    ))
}

/// `POST /api/v1/portal/compensation`: the market pledges (201).
pub async fn api_portal_make(
    State(state): State<AppState>,
    Extension(deps): Extension<Deps>,
    caller: ApiCaller,
    session: MaybeSession,
    Json(input): Json<PledgeInput>,
) -> Result<Response, ApiError> {
    let c = input::enterprise_api(&caller, session)?;
    let p = make(&state, &deps, &c, &input).await?;
    Ok((StatusCode::CREATED, Json(pledge_view(&p))).into_response())
}

/// `GET /api/v1/office/compensation/pledges`: the jurisdiction's pledges.
pub async fn api_office_pledges(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
) -> Result<Json<Value>, ApiError> {
    let c = input::officer_api(&caller, session)?;
    let list = store::pledges(&state.db, &c.scope()).await?;
    Ok(Json(
        json!({"pledges": list.iter().map(pledge_view).collect::<Vec<_>>()}),
    ))
}

/// `POST /api/v1/office/compensation/pledges`: an officer records a market's pledge (201).
pub async fn api_office_make(
    State(state): State<AppState>,
    Extension(deps): Extension<Deps>,
    caller: ApiCaller,
    session: MaybeSession,
    Json(input): Json<PledgeInput>,
) -> Result<Response, ApiError> {
    let c = input::officer_api(&caller, session)?;
    let p = make(&state, &deps, &c, &input).await?;
    Ok((StatusCode::CREATED, Json(pledge_view(&p))).into_response())
}

/// `POST /api/v1/office/compensation/pledges/{id}/withdraw`.
pub async fn api_office_withdraw(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let c = input::officer_api(&caller, session)?;
    Ok(Json(pledge_view(&withdraw(&state, &c, &id).await?)))
}

/// `GET /api/v1/office/compensation/figures[?payer=USCC]`: paid and recovered per market.
pub async fn api_figures(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
    axum::extract::Query(q): axum::extract::Query<PayerQuery>,
) -> Result<Json<Value>, ApiError> {
    let c = input::officer_api(&caller, session)?;
    let f = store::figures(&state.db, &c.scope(), q.parse()?.as_deref()).await?;
    Ok(Json(figures_view(&f)))
}

/// `GET /api/v1/office/compensation/payments[?payer=USCC]`: the latest payments.
pub async fn api_payments(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
    axum::extract::Query(q): axum::extract::Query<PayerQuery>,
) -> Result<Json<Value>, ApiError> {
    let c = input::officer_api(&caller, session)?;
    let list = store::payments(&state.db, &c.scope(), q.parse()?.as_deref()).await?;
    Ok(Json(
        json!({"payments": list.iter().map(payment_view).collect::<Vec<_>>()}),
    ))
}

/// `GET /api/v1/office/complaints/{number}/advance-payment`: the payment on a complaint.
pub async fn api_payment_of(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
    Path(number): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let c = input::officer_api(&caller, session)?;
    let m = input::complaint_matter(&state.db, &c.acting, "number", &number).await?;
    let p = store::payment_of(&state.db, &c.scope(), &m.number)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(payment_view(&p)))
}

/// `POST /api/v1/office/complaints/{number}/advance-payment`: `{"payer_uscc",
/// "seller_name", "seller_uscc", "amount", "paid_on"}` (201).
pub async fn api_pay(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
    Path(number): Path<String>,
    Json(input): Json<PaymentInput>,
) -> Result<Response, ApiError> {
    let c = input::officer_api(&caller, session)?;
    let p = pay(&state, &c, &number, &input).await?;
    Ok((StatusCode::CREATED, Json(payment_view(&p))).into_response())
}

/// `POST /api/v1/office/complaints/{number}/advance-recovery`: `{"amount",
/// "recovered_on"}`.
pub async fn api_recover(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
    Path(number): Path<String>,
    Json(input): Json<RecoveryInput>,
) -> Result<Json<Value>, ApiError> {
    let c = input::officer_api(&caller, session)?;
    Ok(Json(payment_view(
        &recover(&state, &c, &number, &input).await?,
    )))
}

// ----- pages ------------------------------------------------------------------------------

/// `GET /office/compensation`: pledges, figures per market, latest payments, and the forms.
pub async fn office_page(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<PayerQuery>,
) -> Result<Response, PageError> {
    let c = input::officer_page(&viewer)?;
    let scope: Scope = c.scope();
    let payer = q.parse()?;
    let pledges = store::pledges(&state.db, &scope).await?;
    let figures = store::figures(&state.db, &scope, payer.as_deref()).await?;
    let payments = store::payments(&state.db, &scope, payer.as_deref()).await?;
    let ctx = json!({
        "pledges": pledges.iter().map(pledge_view).collect::<Vec<_>>(),
        "figures": figures_view(&figures),
        "payments": payments.iter().map(payment_view).collect::<Vec<_>>(),
        "payer": payer,
        "today": today(&state),
    });
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "compensation/office.html",
        ctx,
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct PledgeForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    input: PledgeInput,
}

#[derive(Debug, Default, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct PayForm {
    #[serde(default)]
    csrf: String,
    /// `complaint` when the form is on the complaint's page: back to it after.
    #[serde(default)]
    back: String,
    #[serde(flatten)]
    input: PaymentInput,
}

#[derive(Debug, Default, Deserialize)]
pub struct RecoverForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    back: String,
    #[serde(default)]
    complaint_number: String,
    #[serde(flatten)]
    input: RecoveryInput,
}

/// `POST /office/compensation/pledges`.
pub async fn post_office_make(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(deps): Extension<Deps>,
    PageForm(f): PageForm<PledgeForm>,
) -> Result<Response, PageError> {
    let c = input::officer_page(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    make(&state, &deps, &c, &f.input).await?;
    Ok(Redirect::to("/office/compensation").into_response())
}

/// `POST /office/compensation/pledges/{id}/withdraw`.
pub async fn post_office_withdraw(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(f): PageForm<CsrfForm>,
) -> Result<Response, PageError> {
    let c = input::officer_page(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    withdraw(&state, &c, &id).await?;
    Ok(Redirect::to("/office/compensation").into_response())
}

/// `POST /office/compensation/payments` (also from the complaint's officer page).
pub async fn post_pay(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<PayForm>,
) -> Result<Response, PageError> {
    let c = input::officer_page(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    pay(&state, &c, &f.input.complaint_number.clone(), &f.input).await?;
    let to = back_to_complaint(&f.back, &f.input.complaint_number)
        .unwrap_or_else(|| "/office/compensation".to_string());
    Ok(Redirect::to(&to).into_response())
}

/// `POST /office/compensation/recoveries` (also from the complaint's officer page).
pub async fn post_recover(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<RecoverForm>,
) -> Result<Response, PageError> {
    let c = input::officer_page(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    recover(&state, &c, &f.complaint_number, &f.input).await?;
    let to = back_to_complaint(&f.back, &f.complaint_number)
        .unwrap_or_else(|| "/office/compensation".to_string());
    Ok(Redirect::to(&to).into_response())
}

/// `GET /portal/compensation`: the market's pledges, its figures and the form.
pub async fn portal_page(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let c = input::enterprise_page(&viewer)?;
    let uscc = c.uscc().unwrap_or_default().to_string();
    let pledges = store::pledges_of(&state.db, &uscc).await?;
    let figures = store::figures(&state.db, &Scope::all(), Some(&uscc)).await?;
    let ctx = json!({
        "pledges": pledges.iter().map(pledge_view).collect::<Vec<_>>(),
        "has_active": pledges.iter().any(|p| p.status == "active"),
        "figures": figures_view(&figures),
        "today": today(&state),
    });
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "compensation/portal.html",
        ctx,
    )
}

/// `POST /portal/compensation`.
pub async fn post_portal_make(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(deps): Extension<Deps>,
    PageForm(f): PageForm<PledgeForm>,
) -> Result<Response, PageError> {
    let c = input::enterprise_page(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    make(&state, &deps, &c, &f.input).await?;
    Ok(Redirect::to("/portal/compensation").into_response())
}

/// `POST /portal/compensation/{id}/withdraw`.
pub async fn post_portal_withdraw(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(f): PageForm<CsrfForm>,
) -> Result<Response, PageError> {
    let c = input::enterprise_page(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    withdraw(&state, &c, &id).await?;
    Ok(Redirect::to("/portal/compensation").into_response())
}
