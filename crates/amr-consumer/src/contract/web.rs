//! The routes of the contract part.
//!
//! Public: `/contracts/check` (paste a text, or upload a `.txt` file at
//! `/contracts/check/upload`; nothing is stored), `POST /api/v1/contracts/check`
//! (`{"text": ..}` → `{"findings": [..]}`), the "你提我点" form `/contracts/reports/new`
//! (`POST /contracts/reports` files a matter and redirects to its status page
//! `/contracts/reports/{number}`), model contracts `/contracts/models[/{id}]`.
//! Officers (accounts that read records, within their jurisdiction): the queue
//! `/office/contracts`, a report `/office/contracts/{number}` with its actions
//! (`POST .../act`), the confirmed clauses as JSONL `/office/contracts/confirmed.jsonl`,
//! model contracts `/office/contracts/models` (add) and `/office/contracts/models/{id}` (edit).

use std::collections::BTreeMap;

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, SET_COOKIE};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use amr_kernel::audit::Actor;
use amr_kernel::auth::{Permission, Scope};
use amr_kernel::error::AppError;
use amr_kernel::matter::{ActInput, Acting, ListFilter};
use amr_web::csrf;
use amr_web::error::ApiError;
use amr_web::extract::{PageForm, PageQuery};
use amr_web::page::{PageError, Viewer, render};
use amr_web::{AppState, WebModule};

use super::store::{self, ModelInput, ReportInput};
use super::{check, rules};

/// The largest text the check takes (characters).
pub const CHECK_MAX_CHARS: usize = 200_000;

/// The templates and texts of the contract part.
pub fn module() -> WebModule {
    WebModule {
        name: "consumer.contract",
        templates: TEMPLATES,
        zh: include_str!("../../locales/contract.zh.json"),
        en: include_str!("../../locales/contract.en.json"),
    }
}

pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "contract/check.html",
        include_str!("../../templates/contract/check.html"),
    ),
    (
        "contract/report_new.html",
        include_str!("../../templates/contract/report_new.html"),
    ),
    (
        "contract/report_status.html",
        include_str!("../../templates/contract/report_status.html"),
    ),
    (
        "contract/models.html",
        include_str!("../../templates/contract/models.html"),
    ),
    (
        "contract/model.html",
        include_str!("../../templates/contract/model.html"),
    ),
    (
        "contract/office_list.html",
        include_str!("../../templates/contract/office_list.html"),
    ),
    (
        "contract/office_report.html",
        include_str!("../../templates/contract/office_report.html"),
    ),
    (
        "contract/office_model.html",
        include_str!("../../templates/contract/office_model.html"),
    ),
];

/// The JSON routes (outside the page frame).
pub fn api_routes() -> Router<AppState> {
    Router::new().route("/api/v1/contracts/check", post(api_check))
}

/// The page routes (inside the page frame).
pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/contracts/check", get(check_page).post(post_check))
        .route("/contracts/check/upload", post(post_check_upload))
        .route("/contracts/reports/new", get(report_form))
        .route("/contracts/reports", post(post_report))
        .route("/contracts/reports/{number}", get(report_status))
        .route("/contracts/models", get(models_page))
        .route("/contracts/models/{id}", get(model_page))
        .route("/office/contracts", get(office_list))
        .route("/office/contracts/confirmed.jsonl", get(office_confirmed))
        .route(
            "/office/contracts/models",
            get(office_models).post(post_office_model_new),
        )
        .route(
            "/office/contracts/models/{id}",
            get(office_model_edit).post(post_office_model_edit),
        )
        .route("/office/contracts/{number}", get(office_report))
        .route("/office/contracts/{number}/act", post(post_office_act))
}

// ----- helpers ----------------------------------------------------------------------------

/// The form's CSRF token and, for a visitor without one, the cookie that carries it.
fn form_token(viewer: &Viewer) -> (String, Option<amr_web::cookies::SetCookie>) {
    if let Some(s) = &viewer.session {
        return (s.csrf_token.clone(), None);
    }
    match &viewer.login_csrf {
        Some(t) if !t.is_empty() => (t.clone(), None),
        _ => {
            let (t, c) = csrf::new_login_token(viewer.https);
            (t, Some(c))
        }
    }
}

fn check_form_csrf(viewer: &Viewer, presented: &str) -> Result<(), PageError> {
    let expected = match &viewer.session {
        Some(s) => Some(s.csrf_token.as_str()),
        None => viewer.login_csrf.as_deref(),
    };
    Ok(csrf::check(presented, expected)?)
}

fn with_cookie(resp: Response, cookie: Option<amr_web::cookies::SetCookie>) -> Response {
    match cookie {
        Some(c) => ([(SET_COOKIE, c.header())], resp).into_response(),
        None => resp,
    }
}

fn officer(viewer: &Viewer) -> Result<(Acting, Scope, Actor, String), PageError> {
    let session = viewer.require_login()?;
    if !session.account.role().can(Permission::ReadRecords) {
        return Err(AppError::forbidden().into());
    }
    let acting = Acting::account(&session.account, Some(viewer.ip.clone()));
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    Ok((
        acting,
        session.account.scope(),
        actor,
        session.account.jurisdiction.clone(),
    ))
}

fn check_text(text: &str) -> Result<&str, AppError> {
    if text.trim().is_empty() {
        return Err(AppError::bad_request(
            "text",
            "请粘贴或上传合同文本 (paste or upload the contract text)",
        ));
    }
    if text.chars().count() > CHECK_MAX_CHARS {
        return Err(AppError::bad_request(
            "text",
            format!(
                "文本不超过 {CHECK_MAX_CHARS} 字，请分段检查 (at most {CHECK_MAX_CHARS} characters; check it in parts)"
            ),
        ));
    }
    Ok(text)
}

fn rules_json() -> Vec<Value> {
    rules()
        .rules()
        .iter()
        .map(|r| json!({"id": r.id(), "title": r.title(), "basis": r.basis()}))
        .collect()
}

fn render_check(state: &AppState, viewer: &Viewer, text: &str) -> Result<Response, PageError> {
    let text = check_text(text)?;
    let findings = check(text);
    let page = json!({
        "text": text,
        "checked": true,
        "findings": findings,
        "rules": rules_json(),
        "max": CHECK_MAX_CHARS,
    });
    render(state, viewer, StatusCode::OK, "contract/check.html", page)
}

// ----- public -----------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CheckInput {
    text: String,
}

/// `POST /api/v1/contracts/check`: `{"text": ..}` → `{"findings": [..]}` (character offsets).
pub async fn api_check(Json(input): Json<CheckInput>) -> Result<Json<Value>, ApiError> {
    let text = check_text(&input.text)?;
    Ok(Json(
        json!({"findings": check(text), "rules_version": rules().version}),
    ))
}

/// `GET /contracts/check`: the form.
pub async fn check_page(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let page = json!({"text": "", "checked": false, "findings": [], "rules": rules_json(), "max": CHECK_MAX_CHARS});
    render(&state, &viewer, StatusCode::OK, "contract/check.html", page)
}

/// `POST /contracts/check`: the findings in a pasted text (nothing stored, so no CSRF token).
pub async fn post_check(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<CheckInput>,
) -> Result<Response, PageError> {
    render_check(&state, &viewer, &f.text.replace("\r\n", "\n"))
}

/// `POST /contracts/check/upload`: the findings in an uploaded `.txt` file (UTF-8; a file in
/// another encoding is refused with the way to convert it).
pub async fn post_check_upload(
    viewer: Viewer,
    State(state): State<AppState>,
    mut form: Multipart,
) -> Result<Response, PageError> {
    let bad = |m: String| PageError::from(AppError::bad_request("file", m));
    let mut text = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| bad(format!("上传内容无法读取 (the upload cannot be read): {e}")))?
    {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("").to_lowercase();
        if !name.ends_with(".txt") {
            return Err(bad(
                "只支持 .txt 文本文件；.docx 或 PDF 请复制文字后粘贴 (only .txt files; paste the text of a .docx or PDF)".into(),
            ));
        }
        let bytes = field
            .bytes()
            .await
            .map_err(|e| bad(format!("上传内容无法读取 (the upload cannot be read): {e}")))?;
        let bytes = bytes
            .strip_prefix(&[0xEF, 0xBB, 0xBF][..])
            .unwrap_or(&bytes);
        let t = std::str::from_utf8(bytes).map_err(|e| {
            bad(format!(
                "文件不是 UTF-8 文本（第 {} 字节处），请另存为 UTF-8 后再上传 (the file is not UTF-8 at byte {}; save it as UTF-8 first)",
                e.valid_up_to(),
                e.valid_up_to()
            ))
        })?;
        text = Some(t.replace("\r\n", "\n"));
    }
    let text = text.ok_or_else(|| bad("请选择文件 (choose a file)".into()))?;
    render_check(&state, &viewer, &text)
}

/// `GET /contracts/reports/new`: the "你提我点" form.
pub async fn report_form(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let (token, cookie) = form_token(&viewer);
    let page = json!({"form_csrf": token, "v": {}, "error": null});
    let resp = render(
        &state,
        &viewer,
        StatusCode::OK,
        "contract/report_new.html",
        page,
    )?;
    Ok(with_cookie(resp, cookie))
}

#[derive(Debug, Default, Deserialize)]
pub struct ReportForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    input: ReportInput,
}

/// `POST /contracts/reports`: files the report as a matter; to its status page. A refused
/// form is shown again with what was typed and the reason (400), nothing stored.
pub async fn post_report(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<ReportForm>,
) -> Result<Response, PageError> {
    check_form_csrf(&viewer, &f.csrf)?;
    let mut acting = Acting::system();
    acting.actor.ip = Some(viewer.ip.clone());
    let mut tx = state.db.begin().await?;
    match store::file_report(&mut tx, &acting, &f.input, state.config.today()).await {
        Ok(m) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/contracts/reports/{}", m.number)).into_response())
        }
        Err(AppError::BadRequest { field, message }) => {
            drop(tx);
            let (token, cookie) = form_token(&viewer);
            let page = json!({
                "form_csrf": token,
                "v": {
                    "business_name": f.input.business_name, "uscc": f.input.uscc,
                    "division": f.input.division, "clause": f.input.clause,
                    "contract_text": f.input.contract_text, "contact": f.input.contact,
                },
                "error": {"field": field, "message": message},
            });
            let resp = render(
                &state,
                &viewer,
                StatusCode::BAD_REQUEST,
                "contract/report_new.html",
                page,
            )?;
            Ok(with_cookie(resp, cookie))
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /contracts/reports/{number}`: the state of a report (no personal data, no text).
pub async fn report_status(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(number): Path<String>,
) -> Result<Response, PageError> {
    let engine = store::engine();
    let m = engine.get(&state.db, &Acting::system(), &number).await?;
    if m.kind != super::report::CONTRACT_REPORT.name {
        return Err(PageError::not_found());
    }
    let page = json!({
        "m": {
            "number": m.number, "state": m.state, "outcome": m.outcome,
            "created_at": m.created_at, "closed_at": m.closed_at, "due_on": m.due_on,
            "business_name": m.payload.get("business_name"),
        },
    });
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "contract/report_status.html",
        page,
    )
}

/// `GET /contracts/models`: model contracts by industry.
pub async fn models_page(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let models = store::models(&state.db).await?;
    let mut by_industry: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for m in &models {
        by_industry.entry(m.industry.clone()).or_default().push(
            json!({"id": m.id, "title": m.title, "version": m.version, "updated_at": m.updated_at}),
        );
    }
    let page = json!({"industries": by_industry, "office": false});
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "contract/models.html",
        page,
    )
}

fn parse_id(id: &str) -> Result<i64, PageError> {
    id.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(PageError::not_found)
}

/// `GET /contracts/models/{id}`: one model contract.
pub async fn model_page(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let m = store::model(&state.db, parse_id(&id)?).await?;
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "contract/model.html",
        json!({"m": m}),
    )
}

// ----- officers ---------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    state: String,
    before: String,
}

/// `GET /office/contracts`: the reports of the jurisdiction, newest first.
pub async fn office_list(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<ListQuery>,
) -> Result<Response, PageError> {
    let (acting, scope, _, _) = officer(&viewer)?;
    let st = match q.state.trim() {
        "" => None,
        s @ ("received" | "reviewing" | "confirmed" | "dismissed") => Some(s.to_string()),
        _ => {
            return Err(AppError::bad_request(
                "state",
                "状态应为 received、reviewing、confirmed 或 dismissed (the state is received, reviewing, confirmed or dismissed)",
            )
            .into());
        }
    };
    let before = amr_web::extract::parse_before(Some(&q.before))?;
    let filter = ListFilter {
        kind: Some(super::report::CONTRACT_REPORT.name.to_string()),
        state: st,
        before,
        limit: Some(50),
        ..ListFilter::default()
    };
    let page = store::engine()
        .list(&state.db, &acting, &filter, state.config.today())
        .await?;
    let numbers: Vec<String> = page.items.iter().map(|m| m.number.clone()).collect();
    let reports = store::reports_of(&state.db, &scope, &numbers).await?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|m| {
            let r = reports.iter().find(|r| r.matter_number == m.number);
            json!({
                "number": m.number, "state": m.state, "division": m.division,
                "due_on": m.due_on, "overdue": m.overdue_on(state.config.today()), "created_at": m.created_at,
                "business_name": r.map(|r| r.business_name.clone()),
                "clause": r.map(|r| super::short(&r.clause, 60)),
                "findings": r.map(store::findings_of),
            })
        })
        .collect();
    let page = json!({"items": items, "next": page.next, "q": {"state": q.state.trim()}});
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "contract/office_list.html",
        page,
    )
}

/// `GET /office/contracts/{number}`: a report, what the rules found, its timeline, actions.
pub async fn office_report(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(number): Path<String>,
) -> Result<Response, PageError> {
    let (acting, scope, _, _) = officer(&viewer)?;
    let engine = store::engine();
    let m = engine.get(&state.db, &acting, &number).await?;
    let r = store::report(&state.db, &scope, &m.number).await?;
    let timeline = engine.timeline(&state.db, &acting, &m.number).await?;
    let mut found = check(&r.clause);
    found.extend(check(&r.contract_text));
    let page = json!({
        "m": m,
        "r": r,
        "found": found,
        "timeline": timeline,
        "rules": rules_json(),
    });
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "contract/office_report.html",
        page,
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ActForm {
    csrf: String,
    transition: String,
    version: String,
    rule: String,
    clause: String,
    reason: String,
}

/// `POST /office/contracts/{number}/act`: review, confirm, dismiss or reopen.
pub async fn post_office_act(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(number): Path<String>,
    PageForm(f): PageForm<ActForm>,
) -> Result<Response, PageError> {
    let (acting, _, _, _) = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let version: i64 = f.version.trim().parse().map_err(|_| {
        AppError::bad_request("version", "版本号应为整数 (the version is a whole number)")
    })?;
    let mut fields = BTreeMap::new();
    match f.transition.trim() {
        "confirm" => {
            fields.insert("outcome".to_string(), "confirmed".to_string());
            fields.insert("rule".to_string(), f.rule.clone());
            fields.insert("clause".to_string(), f.clause.clone());
        }
        "dismiss" => {
            fields.insert("outcome".to_string(), "dismissed".to_string());
            fields.insert("reason".to_string(), f.reason.clone());
        }
        "reopen" => {
            fields.insert("reason".to_string(), f.reason.clone());
        }
        _ => {}
    }
    let input = ActInput {
        transition: f.transition.clone(),
        version,
        fields,
    };
    let mut tx = state.db.begin().await?;
    let m = store::act(&mut tx, &acting, &number, &input, state.config.today()).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/office/contracts/{}", m.number)).into_response())
}

/// `GET /office/contracts/confirmed.jsonl`: the confirmed clauses of the jurisdiction as
/// labelled test lines (`{"text", "label": "violation", "rule", "source"}`).
pub async fn office_confirmed(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let (_, scope, _, _) = officer(&viewer)?;
    let body = store::confirmed_jsonl(&state.db, &scope).await?;
    Ok((
        [
            (CONTENT_TYPE, "application/x-ndjson; charset=utf-8"),
            (
                CONTENT_DISPOSITION,
                "attachment; filename=\"contract-clauses-confirmed.jsonl\"",
            ),
        ],
        body,
    )
        .into_response())
}

/// `GET /office/contracts/models`: the model contracts and the form to add one.
pub async fn office_models(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    officer(&viewer)?;
    let models = store::models(&state.db).await?;
    let page = json!({"models": models, "m": null, "v": {}, "error": null});
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "contract/office_model.html",
        page,
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct ModelForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    input: ModelInput,
}

async fn save_model_form(
    viewer: &Viewer,
    state: &AppState,
    id: Option<i64>,
    f: ModelForm,
) -> Result<Response, PageError> {
    let (_, scope, actor, own) = officer(viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let mut tx = state.db.begin().await?;
    match store::save_model(&mut tx, &actor, &scope, &own, id, &f.input).await {
        Ok(m) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/office/contracts/models/{}", m.id)).into_response())
        }
        Err(AppError::BadRequest { field, message }) => {
            drop(tx);
            let m = match id {
                Some(id) => Some(store::model(&state.db, id).await?),
                None => None,
            };
            let models = store::models(&state.db).await?;
            let page = json!({
                "models": models, "m": m,
                "v": {"industry": f.input.industry, "title": f.input.title, "body": f.input.body,
                      "source": f.input.source, "division": f.input.division},
                "error": {"field": field, "message": message},
            });
            render(
                state,
                viewer,
                StatusCode::BAD_REQUEST,
                "contract/office_model.html",
                page,
            )
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /office/contracts/models`: adds a model contract.
pub async fn post_office_model_new(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<ModelForm>,
) -> Result<Response, PageError> {
    save_model_form(&viewer, &state, None, f).await
}

/// `GET /office/contracts/models/{id}`: the edit form.
pub async fn office_model_edit(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    officer(&viewer)?;
    let m = store::model(&state.db, parse_id(&id)?).await?;
    let v = json!({"industry": m.industry, "title": m.title, "body": m.body, "source": m.source, "division": m.division});
    let page = json!({"models": [], "m": m, "v": v, "error": null});
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "contract/office_model.html",
        page,
    )
}

/// `POST /office/contracts/models/{id}`: replaces a model contract (a new version).
pub async fn post_office_model_edit(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(f): PageForm<ModelForm>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    save_model_form(&viewer, &state, Some(id), f).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_key_is_in_the_catalog() {
        amr_web::templates::assert_keys_in_catalog(super::TEMPLATES, &[super::module()]);
    }

    #[test]
    fn catalogs_have_the_same_keys() {
        let zh: std::collections::BTreeMap<String, String> =
            serde_json::from_str(include_str!("../../locales/contract.zh.json")).unwrap();
        let en: std::collections::BTreeMap<String, String> =
            serde_json::from_str(include_str!("../../locales/contract.en.json")).unwrap();
        assert_eq!(zh.keys().collect::<Vec<_>>(), en.keys().collect::<Vec<_>>());
    }
}
