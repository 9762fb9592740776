//! The back-office pages of the address service, for officers (accounts that read records),
//! within their jurisdiction:
//!
//! - `/office/addresses/check`: enter an address, see the parse, the library match (or the
//!   nearest entries), the negative-list result and the risk counts; record a commitment.
//! - `/office/addresses/library`: search a city's library, add and retire entries, import
//!   pasted CSV or an uploaded CSV/XLSX file; `/office/addresses/library/imports/{id}` is an
//!   import's result (the rows taken and the rows refused, with the reason).
//! - `/office/addresses/rules`: the negative list; add a rule, end one.
//! - `/office/addresses/risk?city=3701`: a city's riskiest addresses and the review queue;
//!   review, clear, declare cluster-registration addresses; administrators set the threshold.
//! - `/office/addresses/commitments`: the verification queue of commitments.
//!
//! Forms post, redirect and get; every form carries the session's CSRF token. A refused form
//! re-renders its own page with what was entered and the reason next to the field (Chinese
//! first, then English), a reason that belongs to no field above the form ([`Feedback`]),
//! and a 4xx status; nothing is written. Only what is not the form's to fix (a record outside
//! the jurisdiction, a role that may not act, a bad CSRF token) is an error page.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use amr_kernel::audit::Actor;
use amr_kernel::auth::{Permission, Role, Scope};
use amr_kernel::error::AppError;
use amr_web::AppState;
use amr_web::extract::{PageForm, PageQuery, percent_encode};
use amr_web::page::{PageError, Viewer, render};

use crate::check::{self, CheckRequest};
use crate::commitment::{self, CommitmentInput};
use crate::library;
use crate::risk;
use crate::rules::{self, ADDRESS_TYPES, RuleInput, RuleKind};

/// The page routes (the server merges them inside the page frame).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/office/addresses/check", get(get_check))
        .route(
            "/office/addresses/commitments",
            get(get_commitments).post(post_commitment),
        )
        .route(
            "/office/addresses/commitments/{id}/verify",
            post(post_verify),
        )
        .route(
            "/office/addresses/library",
            get(get_library).post(post_library),
        )
        .route("/office/addresses/library/import", post(post_import))
        .route("/office/addresses/library/upload", post(post_upload))
        .route("/office/addresses/library/imports/{id}", get(get_import))
        .route("/office/addresses/library/{id}/retire", post(post_retire))
        .route("/office/addresses/rules", get(get_rules).post(post_rule))
        .route("/office/addresses/rules/{id}/end", post(post_end_rule))
        .route("/office/addresses/risk", get(get_risk))
        .route("/office/addresses/risk/review", post(post_review))
        .route("/office/addresses/risk/cluster", post(post_cluster))
        .route("/office/addresses/risk/threshold", post(post_threshold))
}

/// The officer's scope and actor; 403 for roles that do not read records.
fn officer(viewer: &Viewer) -> Result<(Scope, Actor), PageError> {
    let session = viewer.require_login()?;
    if !session.account.role().can(Permission::ReadRecords) {
        return Err(AppError::forbidden().into());
    }
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    Ok((session.account.scope(), actor))
}

/// The city a page shows: the one asked for, else the officer's own (when the jurisdiction
/// is a city or deeper).
fn city_of(asked: &str, scope: &Scope) -> Result<Option<String>, AppError> {
    match asked.trim() {
        "" => Ok(own_city(scope)),
        c => library::parse_city(c).map(Some),
    }
}

fn own_city(scope: &Scope) -> Option<String> {
    scope
        .as_prefix()
        .filter(|p| p.len() >= 4)
        .map(|p| p[..4].to_string())
}

fn parse_id(id: &str) -> Result<i64, PageError> {
    id.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| PageError::from(AppError::NotFound))
}

fn see_other(to: String) -> Response {
    Redirect::to(&to).into_response()
}

// ----- refused forms ---------------------------------------------------------------------

/// What a refused form brings back to its page: which form it was (`add`, `retire:12`, ...),
/// the values entered, the reason next to each field, and a reason that belongs to no field.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Feedback {
    pub form: String,
    pub values: serde_json::Value,
    pub errors: BTreeMap<String, String>,
    pub alert: Option<String>,
}

impl Feedback {
    fn new(form: impl Into<String>, values: impl Serialize) -> Feedback {
        Feedback {
            form: form.into(),
            values: serde_json::to_value(values).unwrap_or_default(),
            errors: BTreeMap::new(),
            alert: None,
        }
    }

    /// Turns a refusal into feedback with its status: a bad field (400) next to the field
    /// when the form has it, else above the form; a conflict (409) or a rule's refusal (422)
    /// next to `conflict_field` or above the form. Anything else (not found, forbidden,
    /// internal) stays an error page.
    fn refused(
        mut self,
        e: AppError,
        fields: &[&str],
        conflict_field: Option<&str>,
    ) -> Result<(StatusCode, Feedback), PageError> {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
        match e {
            AppError::BadRequest { field, message } => {
                if fields.contains(&field.as_str()) {
                    self.errors.insert(field, message);
                } else {
                    self.alert = Some(message);
                }
            }
            AppError::Conflict(message) | AppError::Rejected { message } => match conflict_field {
                Some(f) => {
                    self.errors.insert(f.to_string(), message);
                }
                None => self.alert = Some(message),
            },
            other => return Err(other.into()),
        }
        Ok((status, self))
    }
}

// ----- check -----------------------------------------------------------------------------

const CHECK_FIELDS: &[&str] = &["address", "hint", "address_type", "industry"];

/// `GET /office/addresses/check?address=...&hint=...`: the form, and the verdict when an
/// address was given (a bad address or hint: the form again with the reason, 400).
pub async fn get_check(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<CheckRequest>,
) -> Result<Response, PageError> {
    officer(&viewer)?;
    show_check(&state, &viewer, StatusCode::OK, &q, Feedback::default()).await
}

async fn show_check(
    state: &AppState,
    viewer: &Viewer,
    mut status: StatusCode,
    q: &CheckRequest,
    mut fb: Feedback,
) -> Result<Response, PageError> {
    let verdict = if q.address.trim().is_empty() {
        None
    } else {
        match check::check(&state.db, q, state.config.today()).await {
            Ok(v) => Some(v),
            Err(e) => {
                (status, fb) = Feedback::new("check", q).refused(e, CHECK_FIELDS, None)?;
                None
            }
        }
    };
    let page = serde_json::json!({
        "q": q,
        "verdict": verdict,
        "types": ADDRESS_TYPES,
        "fb": fb,
    });
    render(state, viewer, status, "address/check.html", page)
}

#[derive(Debug, Deserialize)]
pub struct CommitForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    input: CommitmentInput,
}

/// `POST /office/addresses/commitments`: records the applicant's commitment for an address
/// the check sent to that path. Refused: the check page again with the reason.
pub async fn post_commitment(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<CommitForm>,
) -> Result<Response, PageError> {
    let (_, actor) = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    match crate::api::record_commitment(&state, &actor, &f.input).await {
        Ok(c) => Ok(see_other(format!(
            "/office/addresses/commitments?recorded={}",
            c.id
        ))),
        Err(e) => {
            let values = serde_json::json!({
                "applicant": f.input.applicant,
                "uscc": f.input.uscc,
            });
            let (status, fb) =
                Feedback::new("commit", values).refused(e, &["applicant", "uscc"], None)?;
            let q = CheckRequest {
                address: f.input.address.clone(),
                hint: f.input.hint.clone(),
                ..CheckRequest::default()
            };
            show_check(&state, &viewer, status, &q, fb).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CommitmentsQuery {
    status: String,
    recorded: String,
}

/// `GET /office/addresses/commitments?status=pending`: the verification queue.
pub async fn get_commitments(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<CommitmentsQuery>,
) -> Result<Response, PageError> {
    officer(&viewer)?;
    let status = match q.status.trim() {
        "" => "pending",
        s @ ("pending" | "verified" | "false") => s,
        _ => {
            return Err(AppError::bad_request(
                "status",
                "状态应为 pending、verified 或 false (status is pending, verified or false)",
            )
            .into());
        }
    };
    let recorded = q.recorded.trim().parse::<i64>().ok();
    show_commitments(
        &state,
        &viewer,
        StatusCode::OK,
        status,
        recorded,
        Feedback::default(),
    )
    .await
}

async fn show_commitments(
    state: &AppState,
    viewer: &Viewer,
    code: StatusCode,
    status: &str,
    recorded: Option<i64>,
    fb: Feedback,
) -> Result<Response, PageError> {
    let (scope, _) = officer(viewer)?;
    let items = commitment::list(&state.db, &scope, status, 200).await?;
    let page = serde_json::json!({
        "items": items,
        "status": status,
        "recorded": recorded,
        "fb": fb,
    });
    render(state, viewer, code, "address/commitments.html", page)
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct VerifyForm {
    #[serde(skip_serializing)]
    csrf: String,
    result: String,
    note: String,
}

/// `POST /office/addresses/commitments/{id}/verify`.
pub async fn post_verify(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(f): PageForm<VerifyForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let id = parse_id(&id)?;
    let mut tx = state.db.begin().await?;
    match commitment::verify(&mut tx, &actor, &scope, id, &f.result, &f.note).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(see_other("/office/addresses/commitments".into()))
        }
        Err(e) => {
            drop(tx);
            let (status, fb) =
                Feedback::new(format!("verify:{id}"), &f).refused(e, &["result", "note"], None)?;
            show_commitments(&state, &viewer, status, "pending", None, fb).await
        }
    }
}

// ----- library ---------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LibraryQuery {
    city: String,
    q: String,
    after: String,
}

/// `GET /office/addresses/library?city=3701&q=泉城路`: the city's active entries.
pub async fn get_library(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<LibraryQuery>,
) -> Result<Response, PageError> {
    officer(&viewer)?;
    let after = q.after.trim().parse::<i64>().unwrap_or(0);
    show_library(
        &state,
        &viewer,
        StatusCode::OK,
        &q.city,
        &q.q,
        after,
        Feedback::default(),
    )
    .await
}

/// Longest search text.
const MAX_NEEDLE: usize = 50;

/// The library page for the city asked (a bad city or search text: the search form again
/// with the reason; the page then lists the officer's own city).
async fn show_library(
    state: &AppState,
    viewer: &Viewer,
    mut status: StatusCode,
    asked_city: &str,
    needle: &str,
    after: i64,
    mut fb: Feedback,
) -> Result<Response, PageError> {
    let (scope, _) = officer(viewer)?;
    let mut needle = needle.trim().to_string();
    let search_values = serde_json::json!({ "city": asked_city, "q": needle });
    let city = match city_of(asked_city, &scope) {
        Ok(c) => c,
        Err(e) => {
            if fb.form.is_empty() {
                (status, fb) =
                    Feedback::new("search", &search_values).refused(e, &["city", "q"], None)?;
            }
            own_city(&scope)
        }
    };
    if needle.chars().count() > MAX_NEEDLE {
        if fb.form.is_empty() {
            let e = AppError::bad_request("q", "关键字不超过 50 字 (at most 50 characters)");
            (status, fb) = Feedback::new("search", &search_values).refused(e, &["q"], None)?;
        }
        needle.clear();
    }
    let (items, total) = match &city {
        Some(c) => (
            library::search(&state.db, &scope, c, &needle, after).await?,
            library::count_city(&state.db, c).await?,
        ),
        None => (Vec::new(), 0),
    };
    let next = (items.len() == 100)
        .then(|| items.last().map(|e| e.id))
        .flatten();
    let page = serde_json::json!({
        "city": city,
        "q": needle,
        "items": items,
        "total": total,
        "next": next,
        "types": ADDRESS_TYPES,
        "max_upload": size_text(max_upload(state)),
        "fb": fb,
    });
    render(state, viewer, status, "address/library.html", page)
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct EntryForm {
    #[serde(skip_serializing)]
    csrf: String,
    city: String,
    address: String,
    address_type: String,
}

/// `POST /office/addresses/library`: adds one entry (refused: the library page again, the
/// reason next to the field, 400; an address already there, 409).
pub async fn post_library(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<EntryForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let added = async {
        let city = library::parse_city(&f.city)?;
        let e = library::prepare(&city, &f.address, Some(&f.address_type))?;
        let mut tx = state.db.begin().await?;
        library::add(&mut tx, &actor, &scope, &e).await?;
        tx.commit().await?;
        Ok::<_, AppError>((city, e))
    }
    .await;
    match added {
        Ok((city, e)) => Ok(see_other(format!(
            "/office/addresses/library?city={city}&q={}",
            percent_encode(&e.key.road)
        ))),
        Err(e) => {
            let (status, fb) = Feedback::new("add", &f).refused(
                e,
                &["city", "address", "address_type"],
                Some("address"),
            )?;
            show_library(&state, &viewer, status, &f.city, "", 0, fb).await
        }
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct RetireForm {
    #[serde(skip_serializing)]
    csrf: String,
    reason: String,
    /// The city and search the page showed (to show it again).
    city: String,
    q: String,
}

/// `POST /office/addresses/library/{id}/retire`.
pub async fn post_retire(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(f): PageForm<RetireForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let id = parse_id(&id)?;
    let mut tx = state.db.begin().await?;
    match library::retire(&mut tx, &actor, &scope, id, &f.reason).await {
        Ok(e) => {
            tx.commit().await?;
            Ok(see_other(format!(
                "/office/addresses/library?city={}",
                e.city
            )))
        }
        Err(e) => {
            drop(tx);
            let (status, fb) =
                Feedback::new(format!("retire:{id}"), &f).refused(e, &["reason"], None)?;
            show_library(&state, &viewer, status, &f.city, &f.q, 0, fb).await
        }
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ImportForm {
    #[serde(skip_serializing)]
    csrf: String,
    city: String,
    csv: String,
}

/// Longest CSV text the import form takes (bigger files: the upload, or
/// `amr address library import`).
const MAX_FORM_CSV: usize = 1 << 20;

/// `POST /office/addresses/library/import`: imports CSV text pasted into the form, then shows
/// the import's result page (post/redirect/get). A bad city or text: the library page again
/// with the reason next to the field.
pub async fn post_import(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<ImportForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let text = f.csv.trim();
    let outcome = if text.is_empty() || f.csv.len() > MAX_FORM_CSV {
        Err(AppError::bad_request(
            "csv",
            "请粘贴 CSV 内容（不超过 1 MB；更大的文件请上传或用 amr address library import）\
             (paste the CSV, at most 1 MB; upload larger files or use `amr address library import`)",
        ))
    } else {
        import_table(
            &state,
            &actor,
            &scope,
            &f.city,
            "form.csv",
            "import:form",
            f.csv.as_bytes(),
        )
        .await
        .map_err(|e| match e {
            // The pasted text is this form's "file".
            AppError::BadRequest { field, message } if field == "file" => {
                AppError::bad_request("csv", message)
            }
            other => other,
        })
    };
    match outcome {
        Ok(id) => Ok(see_other(format!("/office/addresses/library/imports/{id}"))),
        Err(e) => {
            let (status, fb) = Feedback::new("import", &f).refused(e, &["city", "csv"], None)?;
            show_library(&state, &viewer, status, &f.city, "", 0, fb).await
        }
    }
}

/// Reads a table, imports its rows into the city's library and keeps the report; returns
/// the report's id.
async fn import_table(
    state: &AppState,
    actor: &Actor,
    scope: &Scope,
    city: &str,
    file_name: &str,
    source: &str,
    bytes: &[u8],
) -> Result<i64, AppError> {
    let city = library::parse_city(city)?;
    let rows = library::read_table(file_name, bytes)?;
    if rows.is_empty() {
        return Err(AppError::bad_request(
            "file",
            "文件只有表头，没有数据行 (the file has a header but no rows)",
        ));
    }
    let report =
        library::import_rows(&state.db, actor, scope, &city, source, &rows, |_| {}).await?;
    library::save_import(&state.db, actor, &city, source, &report).await
}

/// Room the multipart envelope of an upload needs besides the file (the boundaries, the
/// CSRF token, the city and the part headers).
const UPLOAD_ENVELOPE: usize = 16 * 1024;

/// The largest file the upload takes: the server's request-body limit less the envelope.
fn max_upload(state: &AppState) -> usize {
    state
        .config
        .max_body_bytes
        .saturating_sub(UPLOAD_ENVELOPE)
        .max(1024)
}

/// The fields of an upload form.
#[derive(Debug, Default, Serialize)]
struct UploadForm {
    #[serde(skip_serializing)]
    csrf: String,
    city: String,
    file_name: String,
    #[serde(skip_serializing)]
    file: Vec<u8>,
}

/// A size for people: `1.9 MB`, `48 KB`.
fn size_text(bytes: usize) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", bytes / 1024)
    }
}

fn too_large(limit: usize) -> AppError {
    let size = size_text(limit);
    AppError::bad_request(
        "file",
        format!(
            "文件过大：上传的文件不超过 {size}，更大的文件请用命令 amr address library import \
             (the file is too large: uploads are at most {size}; use `amr address library import` \
             for larger files)"
        ),
    )
}

/// Reads the upload's parts: `csrf`, `city` and `file` (at most `limit` bytes).
async fn read_upload(
    form: &mut UploadForm,
    multipart: Result<Multipart, MultipartRejection>,
    limit: usize,
) -> Result<(), AppError> {
    let unreadable = |detail: String| {
        AppError::bad_request(
            "file",
            format!("上传内容无法读取 (the upload could not be read): {detail}"),
        )
    };
    let mut multipart = multipart.map_err(|e| unreadable(e.body_text()))?;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(()),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large(limit)),
            Err(e) => return Err(unreadable(e.body_text())),
        };
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            form.file_name = field.file_name().unwrap_or("").to_string();
        }
        let mut value: Vec<u8> = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    let cap = if name == "file" { limit } else { 1024 };
                    if value.len() + chunk.len() > cap {
                        return Err(if name == "file" {
                            too_large(limit)
                        } else {
                            unreadable(format!("{name} too long"))
                        });
                    }
                    value.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    return Err(too_large(limit));
                }
                Err(e) => return Err(unreadable(e.body_text())),
            }
        }
        match name.as_str() {
            "csrf" => form.csrf = String::from_utf8_lossy(&value).into_owned(),
            "city" => form.city = String::from_utf8_lossy(&value).into_owned(),
            "file" => form.file = value,
            _ => {}
        }
    }
}

/// `POST /office/addresses/library/upload` (multipart: `csrf`, `city`, `file`): imports an
/// uploaded CSV (UTF-8) or XLSX file, with the columns of `amr address library import`, then
/// shows the import's result page (post/redirect/get). A bad city, a missing, unreadable or
/// too large file: the library page again with the reason next to the field.
pub async fn post_upload(
    viewer: Viewer,
    State(state): State<AppState>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let (scope, actor) = officer(&viewer)?;
    let limit = max_upload(&state);
    let mut form = UploadForm::default();
    let read = read_upload(&mut form, multipart, limit).await;
    // The token is checked before anything the upload says is acted on or shown.
    viewer.check_csrf(&form.csrf)?;
    let outcome = match read {
        Err(e) => Err(e),
        Ok(()) => {
            let name = form.file_name.trim().to_string();
            let lower = name.to_ascii_lowercase();
            if name.is_empty() || form.file.is_empty() {
                Err(AppError::bad_request(
                    "file",
                    "请选择要上传的 CSV 或 XLSX 文件 (choose a CSV or XLSX file to upload)",
                ))
            } else if !(lower.ends_with(".csv") || lower.ends_with(".xlsx")) {
                Err(AppError::bad_request(
                    "file",
                    format!(
                        "只能上传 .csv 或 .xlsx 文件，“{name}”不是 \
                         (only .csv and .xlsx files can be uploaded)"
                    ),
                ))
            } else {
                let source = format!("import:{}", source_name(&name));
                import_table(
                    &state, &actor, &scope, &form.city, &lower, &source, &form.file,
                )
                .await
            }
        }
    };
    match outcome {
        Ok(id) => Ok(see_other(format!("/office/addresses/library/imports/{id}"))),
        Err(e) => {
            let (status, fb) =
                Feedback::new("upload", &form).refused(e, &["city", "file"], None)?;
            show_library(&state, &viewer, status, &form.city, "", 0, fb).await
        }
    }
}

/// The uploaded file's name as a record's source: its last path part, printable, at most
/// 100 characters.
fn source_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.chars().filter(|c| !c.is_control()).take(100).collect()
}

/// `GET /office/addresses/library/imports/{id}`: what an import did: the rows taken (new or
/// already in the library) and each refused row with its reason.
pub async fn get_import(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (scope, actor) = officer(&viewer)?;
    let id = parse_id(&id)?;
    let stored = library::get_import(&state.db, &scope, &actor.name, id).await?;
    let page = serde_json::json!({
        "import": stored,
        "city": stored.city,
        "report": stored.report,
        "listed": library::LISTED_ROWS,
    });
    render(&state, &viewer, StatusCode::OK, "address/import.html", page)
}

// ----- rules -----------------------------------------------------------------------------

/// `GET /office/addresses/rules`: the rules that apply within the jurisdiction.
pub async fn get_rules(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    show_rules(&state, &viewer, StatusCode::OK, Feedback::default()).await
}

async fn show_rules(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    fb: Feedback,
) -> Result<Response, PageError> {
    let (scope, _) = officer(viewer)?;
    let today = state.config.today();
    let items: Vec<serde_json::Value> = rules::list(&state.db, &scope)
        .await?
        .into_iter()
        .map(|r| {
            let active = r.active_on(today);
            let mine = scope.covers(&r.division);
            let mut v = serde_json::to_value(&r).unwrap_or_default();
            v["active"] = active.into();
            v["mine"] = mine.into();
            v
        })
        .collect();
    let page = serde_json::json!({
        "items": items,
        "kinds": RuleKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        "types": ADDRESS_TYPES,
        "today": today.to_string(),
        "fb": fb,
    });
    render(state, viewer, status, "address/rules.html", page)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RuleForm {
    csrf: String,
    #[serde(flatten)]
    rule: RuleInput,
}

const RULE_FIELDS: &[&str] = &[
    "kind",
    "value",
    "division",
    "industries",
    "reason",
    "legal_basis",
    "valid_from",
    "valid_until",
];

/// `POST /office/addresses/rules`: adds a rule (refused: the rules page again with what was
/// entered and the reason next to the field).
pub async fn post_rule(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<RuleForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let added = async {
        let r = f.rule.validate(state.config.today())?;
        let mut tx = state.db.begin().await?;
        rules::add(&mut tx, &actor, &scope, &r).await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    match added {
        Ok(()) => Ok(see_other("/office/addresses/rules".into())),
        Err(e) => {
            let (status, fb) = Feedback::new("rule", &f.rule).refused(e, RULE_FIELDS, None)?;
            show_rules(&state, &viewer, status, fb).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfForm {
    csrf: String,
}

/// `POST /office/addresses/rules/{id}/end` (already ended: the rules page with the reason).
pub async fn post_end_rule(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(f): PageForm<CsrfForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let id = parse_id(&id)?;
    let mut tx = state.db.begin().await?;
    match rules::end(&mut tx, &actor, &scope, id).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(see_other("/office/addresses/rules".into()))
        }
        Err(e) => {
            drop(tx);
            let (status, fb) = Feedback::new(format!("end:{id}"), ()).refused(e, &[], None)?;
            show_rules(&state, &viewer, status, fb).await
        }
    }
}

// ----- risk ------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RiskQuery {
    city: String,
}

/// `GET /office/addresses/risk?city=3701`: the riskiest addresses of the city and the queue.
pub async fn get_risk(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<RiskQuery>,
) -> Result<Response, PageError> {
    show_risk(
        &state,
        &viewer,
        StatusCode::OK,
        &q.city,
        Feedback::default(),
    )
    .await
}

async fn show_risk(
    state: &AppState,
    viewer: &Viewer,
    mut status: StatusCode,
    asked_city: &str,
    mut fb: Feedback,
) -> Result<Response, PageError> {
    let (scope, _) = officer(viewer)?;
    let city = match city_of(asked_city, &scope) {
        Ok(c) => c,
        Err(e) => {
            if fb.form.is_empty() {
                let values = serde_json::json!({ "city": asked_city });
                (status, fb) = Feedback::new("city", values).refused(e, &["city"], None)?;
            }
            own_city(&scope)
        }
    };
    let threshold = risk::threshold(&state.db).await?;
    let (items, queue, totals) = match &city {
        Some(c) => (
            risk::riskiest(&state.db, &scope, c, 50).await?,
            risk::queue(&state.db, &scope, Some(c), 200).await?,
            risk::city_totals(&state.db, c).await?,
        ),
        None => (
            Vec::new(),
            risk::queue(&state.db, &scope, None, 200).await?,
            (0, 0),
        ),
    };
    let is_admin = viewer
        .session
        .as_ref()
        .is_some_and(|s| s.account.role() == Role::Admin && s.account.scope().covers(""));
    let page = serde_json::json!({
        "city": city,
        "items": items,
        "queue": queue,
        "threshold": threshold,
        "entities": totals.0,
        "addresses": totals.1,
        "is_admin": is_admin,
        "abnormal_connected": risk::ABNORMAL_LIST_CONNECTED,
        "fb": fb,
    });
    render(state, viewer, status, "address/risk.html", page)
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ReviewForm {
    #[serde(skip_serializing)]
    csrf: String,
    key: String,
    decision: String,
    note: String,
    city: String,
}

fn back_to_risk(city: &str) -> Response {
    match library::parse_city(city) {
        Ok(c) => see_other(format!("/office/addresses/risk?city={c}")),
        Err(_) => see_other("/office/addresses/risk".into()),
    }
}

/// `POST /office/addresses/risk/review` (refused: the risk page with the reason in the
/// address's row).
pub async fn post_review(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<ReviewForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let mut tx = state.db.begin().await?;
    match risk::review(&mut tx, &actor, &scope, &f.key, &f.decision, &f.note).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(back_to_risk(&f.city))
        }
        Err(e) => {
            drop(tx);
            let (status, fb) = Feedback::new(format!("review:{}", f.key), &f).refused(
                e,
                &["decision", "note"],
                None,
            )?;
            show_risk(&state, &viewer, status, &f.city, fb).await
        }
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ClusterForm {
    #[serde(skip_serializing)]
    csrf: String,
    key: String,
    cluster: String,
    note: String,
    city: String,
}

/// `POST /office/addresses/risk/cluster`: declares (`cluster=1`) or withdraws (`0`) a
/// cluster-registration address.
pub async fn post_cluster(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<ClusterForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let declared = async {
        let cluster = match f.cluster.trim() {
            "1" => true,
            "0" => false,
            _ => {
                return Err(AppError::bad_request(
                    "cluster",
                    "cluster 应为 1（声明）或 0（撤销）(cluster is 1 or 0)",
                ));
            }
        };
        let mut tx = state.db.begin().await?;
        risk::declare_cluster(&mut tx, &actor, &scope, &f.key, cluster, &f.note).await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    match declared {
        Ok(()) => Ok(back_to_risk(&f.city)),
        Err(e) => {
            let (status, fb) =
                Feedback::new(format!("cluster:{}", f.key), &f).refused(e, &["note"], None)?;
            show_risk(&state, &viewer, status, &f.city, fb).await
        }
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ThresholdForm {
    #[serde(skip_serializing)]
    csrf: String,
    threshold: String,
    city: String,
}

/// `POST /office/addresses/risk/threshold` (administrators with the whole country as their
/// jurisdiction: the threshold is one for all).
pub async fn post_threshold(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<ThresholdForm>,
) -> Result<Response, PageError> {
    let session = viewer.require_admin()?;
    viewer.check_csrf(&f.csrf)?;
    if !session.account.scope().covers("") {
        return Err(AppError::forbidden().into());
    }
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    let set = async {
        let value = f.threshold.trim().parse::<i64>().map_err(|_| {
            AppError::bad_request(
                "threshold",
                "阈值应为 1 到 100000 之间的整数 (the threshold is an integer from 1 to 100000)",
            )
        })?;
        let mut tx = state.db.begin().await?;
        risk::set_threshold(&mut tx, &actor, value).await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    match set {
        Ok(()) => Ok(back_to_risk(&f.city)),
        Err(e) => {
            let (status, fb) = Feedback::new("threshold", &f).refused(e, &["threshold"], None)?;
            show_risk(&state, &viewer, status, &f.city, fb).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_page(name: &str, page: serde_json::Value) -> Result<String, String> {
        let t = amr_web::templates::Templates::new(&[crate::schema::module()]);
        let mut ctx = serde_json::json!({
            "lang": "zh", "html_lang": "zh-CN", "me": null, "csrf": "tok", "here": "/",
        });
        for (k, v) in page.as_object().cloned().unwrap_or_default() {
            ctx[k] = v;
        }
        t.render(name, minijinja::Value::from(minijinja::value::Serde(&ctx)))
            .map_err(|e| format!("{e:#}"))
    }

    #[test]
    fn every_page_renders_with_and_without_a_refused_form() {
        let fb = |form: &str, values: serde_json::Value, field: &str| {
            let mut f = Feedback::new(form, values);
            f.errors.insert(field.into(), "错 (wrong)".into());
            serde_json::to_value(f).unwrap()
        };
        let none = serde_json::to_value(Feedback::default()).unwrap();
        let commitment = serde_json::json!({
            "id": 3, "address": "泉城路186号", "normalized": null, "match_key": "k",
            "division": "370102", "applicant": "甲", "uscc": null,
            "committed_at": "2026-01-01T00:00:00Z", "recorded_by": "x", "status": "pending",
            "verified_at": null, "verified_by": null, "note": null,
        });
        let entry = serde_json::json!({
            "id": 5, "city": "3701", "county_code": "370102", "town_code": null, "road": "泉城路",
            "road_no": "180号", "road_num": 180, "building": null, "address_type": null,
            "full_address": "泉城路180号", "match_key": "k", "source": "officer",
            "created_at": "2026-01-01T00:00:00Z", "created_by": "x", "retired_at": null,
            "retired_reason": null,
        });
        let risk = serde_json::json!({
            "risk_key": "3701|经十路|1号|", "city": "3701", "division": "370102",
            "address": "经十路1号", "entity_count": 12, "first_registered": null,
            "last_registered": null, "inactive_count": 0, "abnormal_count": 0, "cluster": false,
            "cluster_note": null, "review_state": "pending", "reviewed_count": 0,
            "review_note": null, "reviewed_by": null, "reviewed_at": null,
        });
        let cases = [
            (
                "address/commitments.html",
                serde_json::json!({"items": [commitment], "status": "pending", "recorded": null}),
                vec![
                    none.clone(),
                    fb(
                        "verify:3",
                        serde_json::json!({"result": "false", "note": ""}),
                        "note",
                    ),
                ],
            ),
            (
                "address/library.html",
                serde_json::json!({"city": "3701", "q": "", "items": [entry], "total": 1, "next": null, "types": ADDRESS_TYPES, "max_upload": "1.9 MB"}),
                vec![
                    none.clone(),
                    fb(
                        "add",
                        serde_json::json!({"city": "37", "address": "x", "address_type": ""}),
                        "city",
                    ),
                    fb(
                        "retire:5",
                        serde_json::json!({"reason": "", "city": "3701", "q": ""}),
                        "reason",
                    ),
                    fb(
                        "search",
                        serde_json::json!({"city": "99x", "q": ""}),
                        "city",
                    ),
                    fb(
                        "upload",
                        serde_json::json!({"city": "3701", "file_name": "a.txt"}),
                        "file",
                    ),
                    fb(
                        "import",
                        serde_json::json!({"city": "3701", "csv": "x"}),
                        "csv",
                    ),
                ],
            ),
            (
                "address/rules.html",
                serde_json::json!({"items": [], "kinds": ["road"], "types": ADDRESS_TYPES, "today": "2026-01-01"}),
                vec![
                    none.clone(),
                    fb(
                        "rule",
                        serde_json::to_value(RuleInput::default()).unwrap(),
                        "reason",
                    ),
                ],
            ),
            (
                "address/risk.html",
                serde_json::json!({"city": "3701", "items": [risk.clone()], "queue": [risk], "threshold": 10, "entities": 12, "addresses": 1, "is_admin": true, "abnormal_connected": false}),
                vec![
                    none.clone(),
                    fb("city", serde_json::json!({"city": "37"}), "city"),
                    fb(
                        "review:3701|经十路|1号|",
                        serde_json::json!({"key": "3701|经十路|1号|", "decision": "cleared", "note": "", "city": "3701"}),
                        "note",
                    ),
                    fb(
                        "cluster:3701|经十路|1号|",
                        serde_json::json!({"key": "k", "cluster": "1", "note": "", "city": "3701"}),
                        "note",
                    ),
                    fb(
                        "threshold",
                        serde_json::json!({"threshold": "x", "city": "3701"}),
                        "threshold",
                    ),
                ],
            ),
            (
                "address/check.html",
                serde_json::json!({"q": CheckRequest::default(), "verdict": null, "types": ADDRESS_TYPES}),
                vec![none.clone(), fb("check", serde_json::json!({}), "hint")],
            ),
        ];
        for (name, page, feedbacks) in cases {
            for f in feedbacks {
                let mut page = page.clone();
                let erred = !f["errors"].as_object().unwrap().is_empty();
                page["fb"] = f;
                let html = render_page(name, page).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(html.contains("错 (wrong)"), erred, "{name}");
            }
        }
    }

    #[test]
    fn refusals_go_next_to_their_field_or_above_the_form() {
        let fb = Feedback::new("add", serde_json::json!({ "address": "泉城路" }));
        let (s, f) = fb
            .clone()
            .refused(
                AppError::bad_request("address", "缺门牌号 (no number)"),
                &["address"],
                None,
            )
            .unwrap();
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(f.errors["address"], "缺门牌号 (no number)");
        assert!(f.alert.is_none());
        let (_, f) = fb
            .clone()
            .refused(
                AppError::bad_request("form", "坏 (bad)"),
                &["address"],
                None,
            )
            .unwrap();
        assert!(f.errors.is_empty());
        assert_eq!(f.alert.as_deref(), Some("坏 (bad)"));
        let (s, f) = fb
            .clone()
            .refused(
                AppError::Conflict("已有 (exists)".into()),
                &["address"],
                Some("address"),
            )
            .unwrap();
        assert_eq!(s, StatusCode::CONFLICT);
        assert_eq!(f.errors["address"], "已有 (exists)");
        assert!(fb.refused(AppError::NotFound, &["address"], None).is_err());
        assert_eq!(source_name("C:\\x\\济南.xlsx"), "济南.xlsx");
        assert_eq!(source_name("a/b\n.csv"), "b.csv");
    }
}
