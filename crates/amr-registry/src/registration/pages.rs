//! The applicant's pages (no account needed):
//!
//! - `GET /registrations/name-check?name=&entity_type=&division=`: the name check step;
//! - `GET /registrations/new?name=&entity_type=`: the form; `POST /registrations` files it and
//!   goes to the filing's private page;
//! - `GET /registrations/{no}?token=`: status, reasons, steps, and after approval the code;
//!   while under examination, the link to sign it (`/sign`, Hong Kong investors);
//! - `GET /registrations/{no}/edit?token=` and `POST /registrations/{no}/refile`: correct a
//!   returned filing and file it again.
//!
//! The form and the filing page show the service-guide item of setting up that type of
//! entity (stage `entry`: 企业设立登记, 个体工商户设立登记, ...) once the catalogue is imported.
//!
//! Forms carry a CSRF token: the session's for a logged-in person, else the pre-login
//! double-submit cookie (as the login form). A refused form is shown again with what was
//! typed and the error at its field.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::{Form, FormRejection};
use serde::Deserialize;
use serde_json::{Value, json};

use amr_kernel::error::AppError;
use amr_web::AppState;
use amr_web::csrf;
use amr_web::extract::{PageQuery, percent_encode};
use amr_web::page::{PageError, Viewer, render};

use super::api::{NameCheckInput, name_check_args};
use super::model::{Application, ApplicationInput, FilingStatus, ShareholderInput};
use super::store;
use crate::guide::Stage;
use crate::model::EntityType;

/// Shareholder rows the form offers.
const SHAREHOLDER_ROWS: usize = 5;

/// The form's CSRF token and, for a visitor without one, the cookie that carries it.
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

/// `GET /registrations/name-check`.
pub async fn name_check_page(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<NameCheckInput>,
) -> Result<Response, PageError> {
    let mut page = json!({
        "q": {"name": q.name.trim(), "entity_type": q.entity_type.trim(), "division": q.division.trim()},
        "types": EntityType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "check": null,
        "next": null,
    });
    if !q.name.trim().is_empty() {
        let (t, division) = name_check_args(&q)?;
        let mut check = store::check_name(&state.db, &q.name, t, division.as_deref(), None).await?;
        check.similar.clear();
        page["next"] = json!(format!(
            "/registrations/new?name={}&entity_type={}",
            percent_encode(&check.name),
            t.as_str()
        ));
        page["ok"] = json!(check.ok());
        page["check"] = serde_json::to_value(&check).map_err(|e| AppError::Internal(e.into()))?;
    }
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "registration/name_check.html",
        page,
    )
}

/// The form as posted: every field as text, the shareholder table as repeated fields.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ApplicationForm {
    csrf: String,
    token: String,
    name: String,
    entity_type: String,
    address: String,
    division: String,
    capital: String,
    scope: String,
    industry: String,
    legal_rep: String,
    legal_rep_id: String,
    phone: String,
    applicant_name: String,
    applicant_id: String,
    address_commitment: String,
    sh_name: Vec<String>,
    sh_kind: Vec<String>,
    sh_id: Vec<String>,
    sh_capital: Vec<String>,
}

impl ApplicationForm {
    fn input(&self) -> ApplicationInput {
        let at = |v: &Vec<String>, i: usize| v.get(i).cloned().unwrap_or_default();
        let rows = self
            .sh_name
            .len()
            .max(self.sh_kind.len())
            .max(self.sh_id.len())
            .max(self.sh_capital.len());
        ApplicationInput {
            name: self.name.clone(),
            entity_type: self.entity_type.clone(),
            address: self.address.clone(),
            division: self.division.clone(),
            capital: self.capital.clone(),
            scope: self.scope.clone(),
            industry: self.industry.clone(),
            legal_rep: self.legal_rep.clone(),
            legal_rep_id: self.legal_rep_id.clone(),
            phone: self.phone.clone(),
            applicant_name: self.applicant_name.clone(),
            applicant_id: self.applicant_id.clone(),
            shareholders: (0..rows)
                .map(|i| ShareholderInput {
                    name: at(&self.sh_name, i),
                    kind: at(&self.sh_kind, i),
                    id_number: at(&self.sh_id, i),
                    subscribed: at(&self.sh_capital, i),
                })
                .collect(),
            address_commitment: matches!(self.address_commitment.trim(), "on" | "1" | "true"),
        }
    }
}

/// The input back from a stored application (the correction form starts from it).
fn input_of(app: &Application) -> ApplicationInput {
    ApplicationInput {
        name: app.name.clone(),
        entity_type: app.entity_type.as_str().into(),
        address: app.address.clone(),
        division: String::new(),
        capital: app.capital_yuan.map(|c| c.to_string()).unwrap_or_default(),
        scope: app.scope.clone(),
        industry: app.industry.clone(),
        legal_rep: app.legal_rep.name.clone(),
        legal_rep_id: app.legal_rep.id_number.clone(),
        phone: app.phone.clone().unwrap_or_default(),
        applicant_name: app.applicant.name.clone(),
        applicant_id: app.applicant.id_number.clone(),
        shareholders: app
            .shareholders
            .iter()
            .map(|s| ShareholderInput {
                name: s.name.clone(),
                kind: match s.kind {
                    super::model::ShareholderKind::Natural => "natural".into(),
                    super::model::ShareholderKind::Legal => "legal".into(),
                },
                id_number: s.id_number.clone(),
                subscribed: s.subscribed_yuan.to_string(),
            })
            .collect(),
        address_commitment: app.address_commitment,
    }
}

/// Where a refiled or new form posts, and the token it carries.
struct FormTarget<'a> {
    action: String,
    token: &'a str,
    filing_no: Option<&'a str>,
}

/// The service-guide item of setting up an entity of this type (stage `entry`), as boxes;
/// empty when the catalogue has not been imported.
async fn entry_guide(state: &AppState, entity_type: &str) -> Result<Value, AppError> {
    let key = match EntityType::parse(entity_type) {
        Some(EntityType::IndividualBusiness) => "entry.individual_business",
        Some(EntityType::FarmerCooperative) => "entry.cooperative",
        Some(EntityType::Branch) => "entry.branch",
        _ => "entry.establishment",
    };
    crate::guide::web::boxes(&state.db, Some(Stage::Entry), &[key]).await
}

async fn render_form(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    input: &ApplicationInput,
    target: &FormTarget<'_>,
    error: Option<&AppError>,
) -> Result<Response, PageError> {
    let (csrf_token, cookie) = form_token(viewer);
    let mut rows = input.shareholders.clone();
    while rows.len() < SHAREHOLDER_ROWS {
        rows.push(ShareholderInput::default());
    }
    let (field, message) = match error {
        Some(AppError::BadRequest { field, message }) => {
            (Some(field.clone()), Some(message.clone()))
        }
        Some(e) => (None, Some(e.public_message())),
        None => (None, None),
    };
    let guide_items = entry_guide(state, &input.entity_type).await?;
    let page = json!({
        "guide_items": guide_items,
        "form_csrf": csrf_token,
        "v": input,
        "rows": rows,
        "types": EntityType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "action": target.action,
        "token": target.token,
        "filing_no": target.filing_no,
        "error_field": field,
        "error": message,
    });
    let resp = render(state, viewer, status, "registration/form.html", page)?;
    Ok(with_cookie(resp, cookie))
}

fn error_status(e: &AppError) -> StatusCode {
    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewQuery {
    name: String,
    entity_type: String,
}

/// `GET /registrations/new`.
pub async fn new_form(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<NewQuery>,
) -> Result<Response, PageError> {
    let input = ApplicationInput {
        name: q.name.trim().to_string(),
        entity_type: match q.entity_type.trim() {
            "" => "enterprise".into(),
            t => t.to_string(),
        },
        ..ApplicationInput::default()
    };
    let target = FormTarget {
        action: "/registrations".into(),
        token: "",
        filing_no: None,
    };
    render_form(&state, &viewer, StatusCode::OK, &input, &target, None).await
}

fn form_of(
    form: Result<Form<ApplicationForm>, FormRejection>,
) -> Result<ApplicationForm, PageError> {
    form.map(|Form(f)| f).map_err(|e| {
        AppError::bad_request(
            "form",
            format!(
                "表单内容无法识别 (the form could not be read): {}",
                e.body_text()
            ),
        )
        .into()
    })
}

fn filing_url(no: &str, token: &str) -> String {
    format!("/registrations/{no}?token={}", percent_encode(token))
}

/// `POST /registrations`.
pub async fn post_filing(
    viewer: Viewer,
    State(state): State<AppState>,
    form: Result<Form<ApplicationForm>, FormRejection>,
) -> Result<Response, PageError> {
    let form = form_of(form)?;
    check_form_csrf(&viewer, &form.csrf)?;
    let input = form.input();
    match store::file(&state.db, viewer.actor().as_ref(), &viewer.ip, &input).await {
        Ok((f, token)) => Ok(Redirect::to(&filing_url(&f.filing_no, &token)).into_response()),
        Err(e) if e.status() < 500 && !matches!(e, AppError::NotFound) => {
            let target = FormTarget {
                action: "/registrations".into(),
                token: "",
                filing_no: None,
            };
            render_form(&state, &viewer, error_status(&e), &input, &target, Some(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenQuery {
    token: String,
}

/// `GET /registrations/{no}?token=`.
pub async fn filing_page(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(no): Path<String>,
    PageQuery(q): PageQuery<TokenQuery>,
) -> Result<Response, PageError> {
    let f = store::get_for_applicant(&state.db, &no, &q.token).await?;
    let steps = store::steps(&state.db, f.id).await?;
    let guide_items = entry_guide(&state, f.entity_type.as_str()).await?;
    let page: Value = json!({
        "guide_items": guide_items,
        "f": f,
        "steps": steps,
        "token": q.token.trim(),
        "link": filing_url(&f.filing_no, q.token.trim()),
        "industry_name": crate::industry::get(&f.application.industry).map(|i| i.name),
    });
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "registration/filing.html",
        page,
    )
}

/// `GET /registrations/{no}/edit?token=`: the correction form of a returned filing.
pub async fn edit_form(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(no): Path<String>,
    PageQuery(q): PageQuery<TokenQuery>,
) -> Result<Response, PageError> {
    let f = store::get_for_applicant(&state.db, &no, &q.token).await?;
    if f.status != FilingStatus::Returned {
        return Err(AppError::rejected(format!(
            "只有被退回的申请才能更正 (only a returned filing can be corrected): {}",
            f.filing_no
        ))
        .into());
    }
    let target = FormTarget {
        action: format!("/registrations/{}/refile", f.filing_no),
        token: q.token.trim(),
        filing_no: Some(&f.filing_no),
    };
    render_form(
        &state,
        &viewer,
        StatusCode::OK,
        &input_of(&f.application),
        &target,
        None,
    )
    .await
}

/// `POST /registrations/{no}/refile`.
pub async fn post_refile(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(no): Path<String>,
    form: Result<Form<ApplicationForm>, FormRejection>,
) -> Result<Response, PageError> {
    let form = form_of(form)?;
    check_form_csrf(&viewer, &form.csrf)?;
    let input = form.input();
    let token = form.token.trim();
    match store::refile(
        &state.db,
        viewer.actor().as_ref(),
        &viewer.ip,
        &no,
        token,
        &input,
    )
    .await
    {
        Ok(f) => Ok(Redirect::to(&filing_url(&f.filing_no, token)).into_response()),
        Err(e) if e.status() < 500 && !matches!(e, AppError::NotFound) => {
            let target = FormTarget {
                action: format!("/registrations/{no}/refile"),
                token,
                filing_no: Some(&no),
            };
            render_form(&state, &viewer, error_status(&e), &input, &target, Some(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}
