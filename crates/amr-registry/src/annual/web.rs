//! The annual-report routes: the enterprise's form (prefilled from the tax agency) and its
//! filing, as a page and as JSON; the published reports (public); the officer's full view.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use chrono::NaiveDate;
use serde_json::{Value, json};

use amr_kernel::audit::Actor;
use amr_kernel::auth::{Permission, Role, Scope};
use amr_kernel::codes::uscc::Uscc;
use amr_kernel::error::AppError;
use amr_kernel::tax::TaxDataSource;
use amr_web::AppState;
use amr_web::auth::ApiCaller;
use amr_web::error::ApiError;
use amr_web::extract::PageForm;
use amr_web::page::{PageError, Viewer, render};

use super::model::{self, FINANCIAL, Form, ReportInput, TaxResult, yuan};
use super::{rules, store};
use crate::model::Entity;

/// The tax agency, as the server wires it.
#[derive(Clone)]
pub struct Tax(pub Arc<dyn TaxDataSource>);

/// The server's day (its fixed day in tests and demos, else today in China).
pub fn today(state: &AppState) -> NaiveDate {
    state.config.today()
}

fn path_uscc(uscc: &str) -> Result<String, AppError> {
    Ok(Uscc::parse(uscc)
        .map_err(|_| AppError::NotFound)?
        .as_str()
        .to_string())
}

fn path_year(year: &str) -> Result<i32, AppError> {
    year.parse::<i32>()
        .ok()
        .filter(|y| (1990..=2200).contains(y))
        .ok_or(AppError::NotFound)
}

/// The entity, when `account_id` is the enterprise account bound to it; 404 for another
/// entity's account, 403 for anyone else. (Officers enter paper reports through the office
/// routes, [`officer_entity`].)
pub(crate) async fn own_entity(
    state: &AppState,
    role: Option<Role>,
    account_id: Option<i64>,
    uscc: &str,
) -> Result<Entity, AppError> {
    if role != Some(Role::Enterprise) {
        return Err(AppError::forbidden());
    }
    let id = account_id.ok_or(AppError::Unauthenticated)?;
    let a = amr_kernel::auth::store::get_account(&state.db, &Scope::all(), id).await?;
    if a.uscc.as_deref() != Some(uscc) {
        return Err(AppError::NotFound);
    }
    crate::store::get_public(&state.db, uscc).await
}

/// The entity for an officer entering a paper report: permission `record_lifecycle`, the
/// entity within the officer's jurisdiction (404 outside it).
async fn officer_entity(
    state: &AppState,
    role: Option<Role>,
    scope: &Scope,
    uscc: &str,
) -> Result<Entity, AppError> {
    if !role.is_some_and(|r| r.can(Permission::RecordLifecycle)) {
        return Err(AppError::forbidden());
    }
    crate::store::get_scoped(&state.db, scope, uscc).await
}

async fn ask_tax(tax: &Tax, uscc: &str, year: i32) -> TaxResult {
    match tax.0.figures(uscc, year).await {
        Ok(a) => Ok(a),
        Err(e) => Err(format!(
            "未能取得税务数据，请自行填写 (tax figures could not be fetched; type them in): {}",
            e.public_message()
        )),
    }
}

/// What the form shows: the prefilled values (the report filed, else the agency's figures),
/// each financial item with its source.
fn draft(
    e: &Entity,
    year: i32,
    today: NaiveDate,
    tax: &TaxResult,
    existing: Option<&store::StoredReport>,
    channel: &str,
) -> Value {
    let form = Form::of(e.entity_type);
    let answer = tax.as_ref().ok().and_then(|a| a.as_ref());
    let figures: Vec<Value> = form
        .financial_keys()
        .into_iter()
        .map(|k| {
            let name = FINANCIAL
                .iter()
                .find(|f| f.0 == k)
                .map(|f| f.1)
                .unwrap_or(k);
            let tv = answer.and_then(|a| model::tax_value(&a.figures, k));
            let filed = existing.and_then(|r| r.report.financials.iter().find(|f| f.key == k));
            let value = filed
                .map(|f| f.value_fen)
                .or(tv)
                .map(yuan)
                .unwrap_or_default();
            json!({
                "key": k, "name": name,
                "value": value,
                "tax_value": tv.map(yuan),
                "source": answer.filter(|_| tv.is_some()).map(|a| a.source.clone()),
                "evidence": answer.filter(|_| tv.is_some()).map(|a| a.evidence.clone()),
            })
        })
        .collect();
    let prov = model::provenance(tax);
    json!({
        "uscc": e.uscc,
        "name": e.name,
        "year": year,
        "form": form,
        "optional": form.optional_keys(),
        "season_end": rules::season_end(year),
        "late": today > rules::season_end(year),
        "tax": prov,
        "tax_available": answer.is_some(),
        "figures": figures,
        "existing": existing,
        "channel": channel,
        "action": if channel == "paper" {
            format!("/office/entities/{}/annual-reports/{year}", e.uscc)
        } else {
            format!("/portal/entities/{}/annual-reports/{year}", e.uscc)
        },
    })
}

/// The form's values to show: the filed report's, or the entity's address by default.
fn values_of(e: &Entity, existing: Option<&store::StoredReport>) -> HashMap<String, String> {
    let mut v = HashMap::new();
    let lines = |items: Vec<String>| items.join("\n");
    match existing {
        Some(r) => {
            let p = &r.report;
            v.insert("address".into(), p.contact.address.clone());
            v.insert("postcode".into(), p.contact.postcode.clone());
            v.insert("phone".into(), p.contact.phone.clone());
            v.insert("email".into(), p.contact.email.clone());
            v.insert("operating_status".into(), p.operating_status.clone());
            v.insert(
                "investments".into(),
                lines(
                    p.investments
                        .iter()
                        .map(|i| format!("{}|{}", i.name, i.uscc))
                        .collect(),
                ),
            );
            v.insert(
                "shareholders".into(),
                lines(
                    p.shareholders
                        .iter()
                        .map(|s| {
                            format!("{}|{}|{}", s.name, yuan(s.subscribed_fen), yuan(s.paid_fen))
                        })
                        .collect(),
                ),
            );
            v.insert(
                "equity_transfers".into(),
                lines(
                    p.equity_transfers
                        .iter()
                        .map(|t| {
                            format!(
                                "{}|{}|{}|{}",
                                t.shareholder, t.before_pct, t.after_pct, t.on
                            )
                        })
                        .collect(),
                ),
            );
            v.insert(
                "websites".into(),
                lines(
                    p.websites
                        .iter()
                        .map(|w| format!("{}|{}", w.name, w.url))
                        .collect(),
                ),
            );
            v.insert("headcount".into(), p.headcount.to_string());
            v.insert(
                "guarantees".into(),
                lines(
                    p.guarantees
                        .iter()
                        .map(|g| format!("{}|{}|{}", g.creditor, g.debtor, yuan(g.amount_fen)))
                        .collect(),
                ),
            );
            for k in &r.published {
                v.insert(format!("publish_{k}"), "on".into());
            }
        }
        None => {
            v.insert("address".into(), e.address.clone());
            v.insert(
                "operating_status".into(),
                if e.status == crate::model::Status::Suspended {
                    "suspended"
                } else {
                    "operating"
                }
                .into(),
            );
        }
    }
    v
}

/// Files the report in one transaction (the agency asked again at filing, so the recorded
/// tax values are its current answer).
async fn file(
    state: &AppState,
    tax: &Tax,
    actor: &Actor,
    e: &Entity,
    year: i32,
    input: &ReportInput,
    channel: &str,
) -> Result<store::StoredReport, AppError> {
    let today = today(state);
    let form = Form::of(e.entity_type);
    // The window first, so a filing out of season is refused before the agency is asked.
    let existing = store::get(&state.db, &e.uscc, year).await?;
    rules::check_filing(e, year, today, existing.is_some())?;
    let answer = ask_tax(tax, &e.uscc, year).await;
    let report = model::validate(form, input, &answer)?;
    let published = model::publish_list(form, &input.publish);
    let mut tx = state.db.begin().await?;
    let e = crate::store::lock_scoped(&mut tx, &Scope::all(), &e.uscc).await?;
    let stored = store::file(&mut tx, actor, &e, year, report, published, channel, today).await?;
    tx.commit().await?;
    Ok(stored)
}

// ---- JSON ----

/// `GET /api/v1/entities/{uscc}/annual-reports`: the published reports (public items only).
pub async fn api_public(
    State(state): State<AppState>,
    Path(uscc): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let uscc = path_uscc(&uscc)?;
    crate::store::get_public(&state.db, &uscc).await?;
    let items: Vec<Value> = store::list_for_entity(&state.db, &uscc)
        .await?
        .iter()
        .map(store::StoredReport::public)
        .collect();
    Ok(Json(json!({"uscc": uscc, "items": items})))
}

/// `GET /api/v1/office/entities/{uscc}/annual-reports`: everything, for officers in
/// jurisdiction (and the enterprise itself).
pub async fn api_full(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(uscc): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let uscc = path_uscc(&uscc)?;
    match caller.role {
        Some(Role::Enterprise) => {
            own_entity(&state, caller.role, caller.actor.id, &uscc).await?;
        }
        _ => {
            caller.require(Permission::ReadRecords)?;
            crate::store::get_scoped(&state.db, &caller.scope, &uscc).await?;
        }
    }
    let items = store::list_for_entity(&state.db, &uscc).await?;
    Ok(Json(json!({"uscc": uscc, "items": items})))
}

/// `GET /api/v1/entities/{uscc}/annual-reports/{year}/draft`: the form's starting point, for
/// the enterprise (the agency's figures with their source, or why there are none).
pub async fn api_draft(
    State(state): State<AppState>,
    Extension(tax): Extension<Tax>,
    caller: ApiCaller,
    Path((uscc, year)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let uscc = path_uscc(&uscc)?;
    let year = path_year(&year)?;
    let e = own_entity(&state, caller.role, caller.actor.id, &uscc).await?;
    let today = today(&state);
    let existing = store::get(&state.db, &uscc, year).await?;
    rules::check_filing(&e, year, today, existing.is_some())?;
    let answer = ask_tax(&tax, &uscc, year).await;
    Ok(Json(draft(
        &e,
        year,
        today,
        &answer,
        existing.as_ref(),
        "online",
    )))
}

/// `POST /api/v1/entities/{uscc}/annual-reports/{year}`: files or corrects the report (the
/// enterprise's account only); 201 with the stored report.
pub async fn api_file(
    State(state): State<AppState>,
    Extension(tax): Extension<Tax>,
    caller: ApiCaller,
    Path((uscc, year)): Path<(String, String)>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let uscc = path_uscc(&uscc)?;
    let year = path_year(&year)?;
    let e = own_entity(&state, caller.role, caller.actor.id, &uscc).await?;
    let input: ReportInput = crate::web::body(body)?;
    let stored = file(&state, &tax, &caller.actor, &e, year, &input, "online").await?;
    Ok((StatusCode::CREATED, Json(json!(stored))))
}

/// `POST /api/v1/office/entities/{uscc}/annual-reports/{year}`: an officer enters a report
/// from paper on the entity's behalf (permission `record_lifecycle`, within the
/// jurisdiction): the same validation and store path, channel `paper`, the officer recorded
/// as the one who filed; the entity's choice of what to publish is taken as written on the
/// paper form (`publish`). 201 with the stored report.
pub async fn api_file_paper(
    State(state): State<AppState>,
    Extension(tax): Extension<Tax>,
    caller: ApiCaller,
    Path((uscc, year)): Path<(String, String)>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let uscc = path_uscc(&uscc)?;
    let year = path_year(&year)?;
    let e = officer_entity(&state, caller.role, &caller.scope, &uscc).await?;
    let input: ReportInput = crate::web::body(body)?;
    let stored = file(&state, &tax, &caller.actor, &e, year, &input, "paper").await?;
    Ok((StatusCode::CREATED, Json(json!(stored))))
}

// ---- pages ----

/// `GET /portal/entities/{uscc}/annual-reports/{year}`: the form, prefilled.
pub async fn form_page(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(tax): Extension<Tax>,
    Path((uscc, year)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let uscc = path_uscc(&uscc)?;
    let year = path_year(&year)?;
    let s = viewer.require_login()?;
    let e = own_entity(&state, Some(s.account.role()), Some(s.account.id), &uscc).await?;
    let today = today(&state);
    let existing = store::get(&state.db, &uscc, year).await?;
    rules::check_filing(&e, year, today, existing.is_some())?;
    let answer = ask_tax(&tax, &uscc, year).await;
    let d = draft(&e, year, today, &answer, existing.as_ref(), "online");
    let values = values_of(&e, existing.as_ref());
    show_form(
        &state,
        &viewer,
        StatusCode::OK,
        d,
        values,
        None,
        existing.is_some(),
    )
}

/// The text fields of the form.
const FORM_FIELDS: &[&str] = &[
    "address",
    "postcode",
    "phone",
    "email",
    "operating_status",
    "investments",
    "shareholders",
    "equity_transfers",
    "websites",
    "headcount",
    "guarantees",
];

fn show_form(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    d: Value,
    values: HashMap<String, String>,
    error: Option<(String, String)>,
    filed: bool,
) -> Result<Response, PageError> {
    let mut values = values;
    // Every field the template shows has a value (the templates refuse undefined ones).
    for k in FORM_FIELDS {
        values.entry((*k).to_string()).or_default();
    }
    let page = json!({
        "draft": d,
        "v": values,
        "error": error.as_ref().map(|(f, m)| json!({"field": f, "message": m})),
        "filed": filed,
    });
    render(state, viewer, status, "annual/form.html", page)
}

/// `POST /portal/entities/{uscc}/annual-reports/{year}`: files from the form; a refusal
/// shows the form again with the values typed and the reason, nothing written.
pub async fn post_form(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(tax): Extension<Tax>,
    Path((uscc, year)): Path<(String, String)>,
    PageForm(f): PageForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let uscc = path_uscc(&uscc)?;
    let year = path_year(&year)?;
    let s = viewer.require_login()?;
    viewer.check_csrf(f.get("csrf").map(String::as_str).unwrap_or(""))?;
    let e = own_entity(&state, Some(s.account.role()), Some(s.account.id), &uscc).await?;
    file_from_form(&viewer, &state, &tax, &e, year, &f, "online").await
}

/// Files from the form's fields through `channel`; a refusal shows the form again with the
/// values typed and the reason, nothing written.
async fn file_from_form(
    viewer: &Viewer,
    state: &AppState,
    tax: &Tax,
    e: &Entity,
    year: i32,
    f: &HashMap<String, String>,
    channel: &str,
) -> Result<Response, PageError> {
    let uscc = e.uscc.clone();
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let input = ReportInput {
        address: get("address"),
        postcode: get("postcode"),
        phone: get("phone"),
        email: get("email"),
        operating_status: get("operating_status"),
        investments: get("investments"),
        shareholders: get("shareholders"),
        equity_transfers: get("equity_transfers"),
        websites: get("websites"),
        headcount: get("headcount"),
        guarantees: get("guarantees"),
        total_assets: get("total_assets"),
        total_liabilities: get("total_liabilities"),
        owners_equity: get("owners_equity"),
        total_revenue: get("total_revenue"),
        main_business_revenue: get("main_business_revenue"),
        total_profit: get("total_profit"),
        net_profit: get("net_profit"),
        total_tax: get("total_tax"),
        publish: f
            .iter()
            .filter(|(k, v)| k.starts_with("publish_") && !v.is_empty())
            .map(|(k, _)| k.trim_start_matches("publish_").to_string())
            .collect(),
    };
    match file(state, tax, &actor, e, year, &input, channel).await {
        Ok(_) if channel == "paper" => Ok(Redirect::to(&format!(
            "/office/entities/{uscc}/abnormal#annual-reports"
        ))
        .into_response()),
        Ok(_) => Ok(Redirect::to(&format!(
            "/portal/entities/{uscc}/annual-reports/{year}/filed"
        ))
        .into_response()),
        Err(err @ (AppError::BadRequest { .. } | AppError::Rejected { .. })) => {
            let field = match &err {
                AppError::BadRequest { field, .. } => field.clone(),
                _ => String::new(),
            };
            let today = today(state);
            let existing = store::get(&state.db, &uscc, year).await?;
            let answer = ask_tax(tax, &uscc, year).await;
            let mut d = draft(e, year, today, &answer, existing.as_ref(), channel);
            // Show what was typed, not the prefilled values.
            if let Some(figs) = d["figures"].as_array_mut() {
                for fig in figs {
                    let k = fig["key"].as_str().unwrap_or_default().to_string();
                    fig["value"] = json!(get(&k));
                }
            }
            let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
            let mut values: HashMap<String, String> = f.clone();
            values.remove("csrf");
            show_form(
                state,
                viewer,
                status,
                d,
                values,
                Some((field, err.public_message())),
                existing.is_some(),
            )
        }
        Err(other) => Err(other.into()),
    }
}

/// `GET /office/entities/{uscc}/annual-reports/{year}`: the form for an officer entering a
/// paper report (permission `record_lifecycle`, within the jurisdiction), prefilled like the
/// enterprise's.
pub async fn office_form_page(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(tax): Extension<Tax>,
    Path((uscc, year)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let uscc = path_uscc(&uscc)?;
    let year = path_year(&year)?;
    let s = viewer.require_login()?;
    let e = officer_entity(&state, Some(s.account.role()), &s.account.scope(), &uscc).await?;
    let today = today(&state);
    let existing = store::get(&state.db, &uscc, year).await?;
    rules::check_filing(&e, year, today, existing.is_some())?;
    let answer = ask_tax(&tax, &uscc, year).await;
    let d = draft(&e, year, today, &answer, existing.as_ref(), "paper");
    let values = values_of(&e, existing.as_ref());
    show_form(
        &state,
        &viewer,
        StatusCode::OK,
        d,
        values,
        None,
        existing.is_some(),
    )
}

/// `POST /office/entities/{uscc}/annual-reports/{year}`: an officer files a paper report.
pub async fn office_post_form(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(tax): Extension<Tax>,
    Path((uscc, year)): Path<(String, String)>,
    PageForm(f): PageForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let uscc = path_uscc(&uscc)?;
    let year = path_year(&year)?;
    let s = viewer.require_login()?;
    viewer.check_csrf(f.get("csrf").map(String::as_str).unwrap_or(""))?;
    let e = officer_entity(&state, Some(s.account.role()), &s.account.scope(), &uscc).await?;
    file_from_form(&viewer, &state, &tax, &e, year, &f, "paper").await
}

/// `GET /portal/entities/{uscc}/annual-reports/{year}/filed`: the receipt: the report as
/// filed and what the public sees of it.
pub async fn filed_page(
    viewer: Viewer,
    State(state): State<AppState>,
    Path((uscc, year)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let uscc = path_uscc(&uscc)?;
    let year = path_year(&year)?;
    let s = viewer.require_login()?;
    let e = own_entity(&state, Some(s.account.role()), Some(s.account.id), &uscc).await?;
    let r = store::get(&state.db, &uscc, year)
        .await?
        .ok_or(AppError::NotFound)?;
    let page = json!({
        "entity": {"uscc": e.uscc, "name": e.name},
        "report": r,
        "public": r.public(),
        "names": FINANCIAL.iter().map(|(k, n)| (k.to_string(), n.to_string())).collect::<HashMap<_, _>>(),
    });
    render(&state, &viewer, StatusCode::OK, "annual/filed.html", page)
}

/// The published reports of an entity for its public page (newest first), with the names of
/// the financial items.
pub async fn public_section(state: &AppState, uscc: &str) -> Result<Value, AppError> {
    let items: Vec<Value> = store::list_for_entity(&state.db, uscc)
        .await?
        .iter()
        .map(store::StoredReport::public)
        .collect();
    Ok(json!({
        "items": items,
        "names": FINANCIAL.iter().map(|(k, n)| (k.to_string(), n.to_string())).collect::<HashMap<_, _>>(),
    }))
}

/// The portal's entry: the report year due on the server's day and whether it is filed.
pub async fn portal_item(state: &AppState, e: &Entity) -> Result<Value, AppError> {
    let today = today(state);
    let year = rules::due_year(today);
    let due = rules::must_report(e.established, year);
    let filed = if due {
        store::get(&state.db, &e.uscc, year).await?
    } else {
        None
    };
    Ok(json!({
        "year": year,
        "due": due,
        "filed": filed.as_ref().map(|r| json!({"late": r.late, "version": r.version, "filed_on": r.filed_on})),
        "season_end": rules::season_end(year),
        "correctable": today <= rules::season_end(year),
    }))
}

/// The JSON routes (merged outside the page frame).
pub fn api_routes(tax: Tax) -> Router<AppState> {
    Router::new()
        .route("/api/v1/entities/{uscc}/annual-reports", get(api_public))
        .route(
            "/api/v1/entities/{uscc}/annual-reports/{year}",
            axum::routing::post(api_file),
        )
        .route(
            "/api/v1/entities/{uscc}/annual-reports/{year}/draft",
            get(api_draft),
        )
        .route(
            "/api/v1/office/entities/{uscc}/annual-reports",
            get(api_full),
        )
        .route(
            "/api/v1/office/entities/{uscc}/annual-reports/{year}",
            axum::routing::post(api_file_paper),
        )
        .layer(Extension(tax))
}

/// The pages (merged inside the page frame).
pub fn page_routes(tax: Tax) -> Router<AppState> {
    Router::new()
        .route(
            "/portal/entities/{uscc}/annual-reports/{year}",
            get(form_page).post(post_form),
        )
        .route(
            "/portal/entities/{uscc}/annual-reports/{year}/filed",
            get(filed_page),
        )
        .route(
            "/office/entities/{uscc}/annual-reports/{year}",
            get(office_form_page).post(office_post_form),
        )
        .layer(Extension(tax))
}
