//! The HTML pages (post/redirect/get; CSRF on every form: the session's token, or the
//! double-submit cookie before login).
//!
//! Public: `/complaints/new` (the form; `POST /complaints` files it), `/complaints/filed`,
//! `/complaints/track` (number + phone; `POST /complaints/track/refuse` refuses a
//! settlement), `/enterprises/{uscc}/complaints` (statistics). The business:
//! `/portal/complaints` (`POST /portal/complaints/{number}/answer`). The officers' pages
//! are in [`super::office_pages`] (merged here).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use amr_kernel::auth::{Permission, Role};
use amr_kernel::error::AppError;
use amr_kernel::matter::Acting;
use amr_web::csrf;
use amr_web::extract::{PageForm, PageQuery};
use amr_web::page::{PageError, Viewer, render};
use amr_web::{AppState, WebModule};

use super::api::{self, TrackInput};
use super::flow::{self, AnswerInput, FileError};
use super::model::IntakeInput;
use super::{Deps, store, today};

pub fn module() -> WebModule {
    WebModule {
        name: "consumer.complaint",
        templates: TEMPLATES,
        zh: include_str!("../../locales/complaint.zh.json"),
        en: include_str!("../../locales/complaint.en.json"),
    }
}

pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "complaint/new.html",
        include_str!("../../templates/complaint/new.html"),
    ),
    (
        "complaint/filed.html",
        include_str!("../../templates/complaint/filed.html"),
    ),
    (
        "complaint/track.html",
        include_str!("../../templates/complaint/track.html"),
    ),
    (
        "complaint/stats.html",
        include_str!("../../templates/complaint/stats.html"),
    ),
    (
        "complaint/portal.html",
        include_str!("../../templates/complaint/portal.html"),
    ),
    (
        "complaint/office_list.html",
        include_str!("../../templates/complaint/office_list.html"),
    ),
    (
        "complaint/office_item.html",
        include_str!("../../templates/complaint/office_item.html"),
    ),
    (
        "complaint/odr.html",
        include_str!("../../templates/complaint/odr.html"),
    ),
    (
        "complaint/panel.html",
        include_str!("../../templates/complaint/panel.html"),
    ),
    (
        "complaint/portal_stats.html",
        include_str!("../../templates/complaint/portal_stats.html"),
    ),
    (
        "complaint/dashboard.html",
        include_str!("../../templates/complaint/dashboard.html"),
    ),
];

pub fn routes(deps: Deps) -> Router<AppState> {
    Router::new()
        .route("/complaints/new", get(new_form))
        .route("/complaints", post(post_new))
        .route("/complaints/filed", get(filed))
        .route("/complaints/track", get(track_form).post(post_track))
        .route("/complaints/track/refuse", post(post_refuse))
        .route("/enterprises/{uscc}/complaints", get(stats_page))
        .route("/portal/complaints", get(portal))
        .route("/portal/complaints/{number}/answer", post(post_answer))
        .merge(super::office_pages::routes())
        .merge(super::followup_web::routes())
        .layer(Extension(deps))
}

// ----- helpers ----------------------------------------------------------------------------

pub(crate) fn form_token(viewer: &Viewer) -> (String, Option<amr_web::cookies::SetCookie>) {
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

pub(crate) fn check_form_csrf(viewer: &Viewer, presented: &str) -> Result<(), PageError> {
    let expected = match &viewer.session {
        Some(s) => Some(s.csrf_token.as_str()),
        None => viewer.login_csrf.as_deref(),
    };
    Ok(csrf::check(presented, expected)?)
}

pub(crate) fn with_cookie(resp: Response, cookie: Option<amr_web::cookies::SetCookie>) -> Response {
    match cookie {
        Some(c) => ([(SET_COOKIE, c.header())], resp).into_response(),
        None => resp,
    }
}

pub(crate) fn officer(viewer: &Viewer) -> Result<Acting, PageError> {
    let session = viewer.require_login()?;
    if !session.account.role().can(Permission::ReadRecords) {
        return Err(AppError::forbidden().into());
    }
    Ok(Acting::account(&session.account, Some(viewer.ip.clone())))
}

fn enterprise(viewer: &Viewer) -> Result<Acting, PageError> {
    let session = viewer.require_login()?;
    let acting = Acting::account(&session.account, Some(viewer.ip.clone()));
    if session.account.role() != Role::Enterprise || acting.uscc.is_none() {
        return Err(AppError::forbidden().into());
    }
    Ok(acting)
}

pub(crate) fn error_json(field: &str, message: &str) -> Value {
    json!({"field": field, "message": message})
}

pub(crate) fn kinds_json() -> Value {
    json!([
        {"code": "complaint", "zh": "投诉", "en": "complaint"},
        {"code": "report", "zh": "举报", "en": "report"},
        {"code": "help", "zh": "咨询求助", "en": "request for help"},
    ])
}

// ----- public -----------------------------------------------------------------------------

/// `GET /complaints/new`.
pub async fn new_form(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<IntakeInput>,
) -> Result<Response, PageError> {
    let (token, cookie) = form_token(&viewer);
    // A business page links here with its USCC filled in.
    let v = json!({
        "uscc": q.uscc.chars().take(18).collect::<String>(), "kind": "complaint",
        "category": "",
    });
    let page = json!({
        "form_csrf": token, "v": v, "error": null, "candidates": [], "kinds": kinds_json(),
        "categories": super::category::grouped(), "max_files": super::evidence::MAX_FILES,
    });
    let resp = render(&state, &viewer, StatusCode::OK, "complaint/new.html", page)?;
    Ok(with_cookie(resp, cookie))
}

#[derive(Debug, Default, Deserialize)]
pub struct NewForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    input: IntakeInput,
}

/// `POST /complaints`: files it and goes to the receipt; a refusal shows the form again
/// with what was typed and the reason (the county picker when the county is not settled),
/// nothing stored.
pub async fn post_new(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(deps): Extension<Deps>,
    upload: super::evidence::FormWithFiles<NewForm>,
) -> Result<Response, PageError> {
    let f = upload.form;
    check_form_csrf(&viewer, &f.csrf)?;
    let mut acting = Acting::system();
    acting.actor.ip = Some(viewer.ip.clone());
    let result = match upload.file_error {
        Some(e) => Err(FileError::App(e)),
        None => {
            flow::file_with(
                &deps.intake,
                deps.registry.as_ref(),
                &acting,
                &f.input,
                "form",
                today(&state),
                upload.files,
            )
            .await
        }
    };
    let (status, error, candidates) = match result {
        Ok(filed) => {
            return Ok(
                Redirect::to(&format!("/complaints/filed?number={}", filed.matter.number))
                    .into_response(),
            );
        }
        Err(FileError::App(AppError::BadRequest { field, message })) => (
            StatusCode::BAD_REQUEST,
            error_json(&field, &message),
            vec![],
        ),
        Err(FileError::App(e)) => return Err(e.into()),
        Err(e @ FileError::Duplicate { .. }) => {
            (StatusCode::CONFLICT, error_json("", &e.message()), vec![])
        }
        Err(FileError::County {
            message,
            candidates,
        }) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            error_json("county", &message),
            candidates,
        ),
    };
    let (token, cookie) = form_token(&viewer);
    let page = json!({
        "form_csrf": token, "v": f.input, "error": error, "candidates": candidates,
        "kinds": kinds_json(), "categories": super::category::grouped(),
        "max_files": super::evidence::MAX_FILES,
    });
    let resp = render(&state, &viewer, status, "complaint/new.html", page)?;
    Ok(with_cookie(resp, cookie))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NumberQuery {
    number: String,
}

/// `GET /complaints/filed?number=`: the receipt (the number only; nothing read).
pub async fn filed(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<NumberQuery>,
) -> Result<Response, PageError> {
    let number = flow::canonical(&q.number).map_err(|_| PageError::not_found())?;
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "complaint/filed.html",
        json!({"number": number}),
    )
}

/// `GET /complaints/track`.
pub async fn track_form(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<NumberQuery>,
) -> Result<Response, PageError> {
    let (token, cookie) = form_token(&viewer);
    let page = json!({"form_csrf": token, "number": q.number.chars().take(40).collect::<String>(), "tr": null, "error": null});
    let resp = render(
        &state,
        &viewer,
        StatusCode::OK,
        "complaint/track.html",
        page,
    )?;
    Ok(with_cookie(resp, cookie))
}

pub(crate) async fn render_track(
    viewer: &Viewer,
    state: &AppState,
    input: &TrackInput,
    error: Option<Value>,
) -> Result<Response, PageError> {
    let (token, cookie) = form_token(viewer);
    let (status, t, error) = match api::track(state, &input.number, &input.phone).await {
        Ok(t) => (
            if error.is_some() {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            },
            Some(t),
            error,
        ),
        Err(AppError::NotFound) => (
            StatusCode::NOT_FOUND,
            None,
            Some(error_json(
                "number",
                "事项编号或手机号不正确 (the number or the phone does not match)",
            )),
        ),
        Err(e) => return Err(e.into()),
    };
    let page = json!({
        "form_csrf": token, "number": input.number.chars().take(40).collect::<String>(),
        "phone": input.phone.chars().take(30).collect::<String>(), "tr": t, "error": error,
    });
    let resp = render(state, viewer, status, "complaint/track.html", page)?;
    Ok(with_cookie(resp, cookie))
}

#[derive(Debug, Default, Deserialize)]
pub struct TrackForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    input: TrackInput,
}

/// `POST /complaints/track`: the state and every decision (a POST so the phone stays out
/// of addresses and logs).
pub async fn post_track(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<TrackForm>,
) -> Result<Response, PageError> {
    check_form_csrf(&viewer, &f.csrf)?;
    render_track(&viewer, &state, &f.input, None).await
}

/// `POST /complaints/track/refuse`: the consumer does not accept the business's settlement.
pub async fn post_refuse(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<TrackForm>,
) -> Result<Response, PageError> {
    check_form_csrf(&viewer, &f.csrf)?;
    match flow::refuse_settlement(
        &state.db,
        Some(viewer.ip.clone()),
        &f.input.number,
        &f.input.phone,
        &f.input.reason,
        today(&state),
    )
    .await
    {
        Ok(_) => render_track(&viewer, &state, &f.input, None).await,
        Err(AppError::BadRequest { field, message }) => {
            render_track(
                &viewer,
                &state,
                &f.input,
                Some(error_json(&field, &message)),
            )
            .await
        }
        Err(AppError::Rejected { message }) => {
            render_track(&viewer, &state, &f.input, Some(error_json("", &message))).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /enterprises/{uscc}/complaints`: the business's public complaint statistics.
pub async fn stats_page(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(deps): Extension<Deps>,
    Path(uscc): Path<String>,
    PageQuery(q): PageQuery<api::PeriodQuery>,
) -> Result<Response, PageError> {
    let s = api::stats_view(&state, &deps, &uscc, &q.period).await?;
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "complaint/stats.html",
        json!({"s": s}),
    )
}

// ----- the business -----------------------------------------------------------------------

/// `GET /portal/complaints`: the complaints about the account's business; those with it
/// in ODR carry the answer forms.
pub async fn portal(viewer: Viewer, State(state): State<AppState>) -> Result<Response, PageError> {
    let acting = enterprise(&viewer)?;
    let uscc = acting.uscc.clone().unwrap_or_default();
    let rows = store::for_business(&state.db, &uscc, 200).await?;
    let items = api::portal_versions(&state, &acting, &rows).await?;
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "complaint/portal.html",
        json!({"items": items, "uscc": uscc}),
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct AnswerForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    input: AnswerInput,
}

/// `POST /portal/complaints/{number}/answer`.
pub async fn post_answer(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(number): Path<String>,
    PageForm(f): PageForm<AnswerForm>,
) -> Result<Response, PageError> {
    let acting = enterprise(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    flow::answer(&state.db, &acting, &number, &f.input, today(&state)).await?;
    Ok(Redirect::to("/portal/complaints").into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_key_is_in_the_catalog() {
        // The officer's page uses the pledge and compensation texts too (its confidence part).
        amr_web::templates::assert_keys_in_catalog(
            super::TEMPLATES,
            &[super::module(), crate::pledge::web::module()],
        );
    }

    #[test]
    fn catalogs_have_the_same_keys() {
        let zh: std::collections::BTreeMap<String, String> =
            serde_json::from_str(include_str!("../../locales/complaint.zh.json")).unwrap();
        let en: std::collections::BTreeMap<String, String> =
            serde_json::from_str(include_str!("../../locales/complaint.en.json")).unwrap();
        assert_eq!(zh.keys().collect::<Vec<_>>(), en.keys().collect::<Vec<_>>());
    }
}
