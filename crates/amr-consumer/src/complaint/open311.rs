//! Open311 GeoReport v2 (<https://wiki.open311.org/GeoReport_v2>), JSON format, so existing
//! clients and apps can file into the same queue as the form and the API.
//!
//! - `GET /open311/v2/services.json`: the three services (`complaint`, `report`, `help`),
//!   each with `metadata: true`; `GET /open311/v2/services/{code}.json` their attributes.
//! - `POST /open311/v2/requests.json` (form-encoded, as the spec says): `service_code`,
//!   `description` (the facts), `first_name` / `last_name` (the complainant), `phone`,
//!   `address_string` (the business's address), `attribute[business_name]`,
//!   `attribute[uscc]`, `attribute[purchase]`, `attribute[purchase_date]`,
//!   `attribute[amount]`, `attribute[claim]`, `attribute[county]`; answers
//!   `[{"service_request_id", "service_notice", "account_id"}]`. `api_key` and
//!   `jurisdiction_id` are accepted and not required (intake is public, like the form).
//! - `GET /open311/v2/requests.json` (`service_request_id` comma list, `service_code`,
//!   `status`, `start_date`, `end_date`) and `GET /open311/v2/requests/{id}.json`: the public
//!   view of requests — number, status, service, dates, the agency responsible; never the
//!   description (it may name people), the requester or the phone.
//!
//! Errors are the spec's `[{"code": 400, "description": "..."}]`, Chinese first.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use amr_kernel::error::AppError;
use amr_kernel::matter::Acting;
use amr_kernel::on_conn;
use amr_web::AppState;
use amr_web::auth::MaybeSession;

use super::flow::{self, FileError};
use super::model::IntakeInput;
use super::{Deps, today};

pub fn routes(deps: Deps) -> Router<AppState> {
    Router::new()
        .route("/open311/v2/services.json", get(get_services))
        .route("/open311/v2/services/{file}", get(get_service))
        .route(
            "/open311/v2/requests.json",
            get(get_requests).post(post_request),
        )
        .route("/open311/v2/requests/{file}", get(get_request))
        .layer(axum::Extension(deps))
}

const SERVICES: &[(&str, &str, &str)] = &[
    (
        "complaint",
        "消费投诉 (consumer complaint)",
        "与经营者的消费纠纷，请求市场监管部门调解 (a dispute with a business; the bureau mediates)",
    ),
    (
        "report",
        "违法行为举报 (report of a violation)",
        "举报经营者涉嫌违法的行为 (report a business's suspected violation)",
    ),
    (
        "help",
        "咨询求助 (request for help)",
        "消费相关的咨询或求助 (a question or a request for help)",
    ),
];

fn error(status: StatusCode, description: impl Into<String>) -> Response {
    (
        status,
        Json(json!([{"code": status.as_u16(), "description": description.into()}])),
    )
        .into_response()
}

fn app_error(e: AppError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut d = e.public_message();
    if let AppError::BadRequest { field, .. } = &e {
        d = format!("{field}: {d}");
    }
    error(status, d)
}

/// `GET /open311/v2/services.json`.
pub async fn get_services() -> Json<Value> {
    Json(Value::Array(
        SERVICES
            .iter()
            .map(|(code, name, description)| {
                json!({
                    "service_code": code, "service_name": name, "description": description,
                    "metadata": true, "type": "batch", "keywords": "12315,消费,投诉",
                    "group": "市场监管 (market regulation)",
                })
            })
            .collect(),
    ))
}

fn attribute(code: &str, description: &str, required: bool, order: u32) -> Value {
    json!({
        "variable": true, "code": code, "datatype": "string", "required": required,
        "datatype_description": "", "order": order, "description": description,
    })
}

/// `GET /open311/v2/services/{code}.json`: the attributes a request may carry.
pub async fn get_service(Path(file): Path<String>) -> Response {
    let Some(code) = file.strip_suffix(".json") else {
        return error(StatusCode::NOT_FOUND, "只支持 JSON 格式 (JSON only)");
    };
    if !SERVICES.iter().any(|s| s.0 == code) {
        return error(StatusCode::NOT_FOUND, "没有该服务 (no such service)");
    }
    let complaint = code == "complaint";
    Json(json!({
        "service_code": code,
        "attributes": [
            attribute("business_name", "经营者名称（无统一社会信用代码时必填，并填写 address_string） (the business's name, with address_string, when there is no USCC)", false, 1),
            attribute("uscc", "经营者统一社会信用代码 (the business's USCC)", false, 2),
            attribute("purchase", "购买的商品或接受的服务 (what was bought)", complaint, 3),
            attribute("purchase_date", "购买日期 YYYY-MM-DD (purchase date)", false, 4),
            attribute("amount", "金额（元）(amount in yuan)", false, 5),
            attribute("claim", "诉求 (what the consumer asks for)", complaint, 6),
            attribute("county", "经营者所在县（区）6 位代码，地址无法确定时填写 (the county's 6-digit code, when the address does not settle it)", false, 7),
            attribute("category", "投诉分类代码，如 goods.appliance（见 docs/COMPLAINTS.md） (the category code, e.g. goods.appliance)", false, 8),
        ],
    }))
    .into_response()
}

/// Form fields of a request, bounded: at most 64 fields, each value at most 20,000 bytes.
fn form_fields(body: &[u8]) -> Option<HashMap<String, String>> {
    let mut out = HashMap::new();
    for (k, v) in form_urlencoded_pairs(body) {
        if out.len() >= 64 || v.len() > 20_000 || k.len() > 64 {
            return None;
        }
        out.insert(k, v);
    }
    Some(out)
}

/// `application/x-www-form-urlencoded` pairs (`+` is a space; bad escapes kept as typed).
fn form_urlencoded_pairs(body: &[u8]) -> Vec<(String, String)> {
    fn decode(s: &[u8]) -> String {
        let mut out = Vec::with_capacity(s.len());
        let mut i = 0;
        while i < s.len() {
            match s[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < s.len() => {
                    let hex = std::str::from_utf8(&s[i + 1..i + 3]).ok();
                    match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        Some(b) => {
                            out.push(b);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    body.split(|b| *b == b'&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.iter().position(|b| *b == b'=') {
            Some(i) => (decode(&p[..i]), decode(&p[i + 1..])),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// GeoReport v2's `media_url` (a photo the client hosts): empty, or an `http`/`https`
/// address of at most 1,000 characters without spaces or control characters. It is kept as
/// a link in a message from the complainant and never fetched: nothing is downloaded from
/// outside, and the link is shown as text, not as a link to follow.
pub fn media_url(v: &str) -> Result<Option<String>, AppError> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let lower = v.to_ascii_lowercase();
    let scheme_ok = (lower.starts_with("https://") || lower.starts_with("http://"))
        && v.split("://").nth(1).is_some_and(|rest| !rest.is_empty());
    if !scheme_ok
        || v.chars().count() > 1000
        || v.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(AppError::bad_request(
            "media_url",
            "media_url 应为不超过 1000 字符的 http(s) 地址 (media_url is an http(s) address of at most 1,000 characters)",
        ));
    }
    Ok(Some(v.to_string()))
}

/// `POST /open311/v2/requests.json`.
pub async fn post_request(
    State(state): State<AppState>,
    axum::Extension(deps): axum::Extension<Deps>,
    session: MaybeSession,
    body: Bytes,
) -> Response {
    let Some(f) = form_fields(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "字段过多或过长 (too many or too long fields)",
        );
    };
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let attr = |k: &str| get(&format!("attribute[{k}]"));
    let code = get("service_code");
    if !SERVICES.iter().any(|s| s.0 == code) {
        return error(
            StatusCode::BAD_REQUEST,
            "service_code: 应为 complaint、report 或 help (service_code is complaint, report or help)",
        );
    }
    let name = format!("{}{}", get("last_name").trim(), get("first_name").trim());
    let input = IntakeInput {
        kind: code.clone(),
        name,
        phone: get("phone"),
        uscc: attr("uscc"),
        business_name: attr("business_name"),
        business_address: get("address_string"),
        county: attr("county"),
        purchase: attr("purchase"),
        purchase_date: attr("purchase_date"),
        amount: attr("amount"),
        facts: get("description"),
        claim: attr("claim"),
        category: attr("category"),
    };
    let media_url = match media_url(&get("media_url")) {
        Ok(u) => u,
        Err(e) => return app_error(e),
    };
    let mut acting = Acting::system();
    acting.actor.ip = Some(session.1.clone());
    let today = today(&state);
    let filed = async {
        let mut routed = flow::route(deps.registry.as_ref(), &input, "open311", today).await?;
        routed.media_url = media_url;
        let business_name = routed.business_name.clone();
        let (matter, odr) = deps
            .intake
            .record(acting, routed, Vec::new(), today)
            .await?;
        Ok::<_, FileError>(flow::Filed {
            matter,
            odr,
            business_name,
        })
    };
    match filed.await {
        Ok(filed) => {
            let notice = if filed.odr {
                "已转经营者在线处理，经营者应在 10 个工作日内答复 (sent to the business, which answers within 10 working days)"
            } else {
                "已分送管辖市场监管部门 (sent to the competent bureau)"
            };
            Json(json!([{
                "service_request_id": filed.matter.number,
                "service_notice": notice,
                "account_id": null,
            }]))
            .into_response()
        }
        Err(FileError::App(e)) => app_error(e),
        Err(FileError::County {
            message,
            candidates,
        }) => {
            let list: Vec<String> = candidates
                .iter()
                .take(50)
                .map(|c| format!("{} {}", c.code, c.name))
                .collect();
            error(
                StatusCode::BAD_REQUEST,
                format!(
                    "attribute[county]: {message}{}{}",
                    if list.is_empty() { "" } else { "：" },
                    list.join("；")
                ),
            )
        }
        Err(FileError::Duplicate { number }) => {
            error(StatusCode::CONFLICT, flow::duplicate_message(&number))
        }
    }
}

#[derive(sqlx::FromRow)]
struct PublicRow {
    matter_number: String,
    kind: String,
    division: String,
    closed_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    state: String,
    due_on: Option<chrono::NaiveDate>,
}

fn request_view(r: &PublicRow) -> Value {
    let service = SERVICES.iter().find(|s| s.0 == r.kind);
    let (zh, en) = super::kinds::state_label(&r.kind, &r.state);
    let agency = amr_kernel::codes::division::divisions()
        .full_name(&r.division)
        .map(|n| format!("{n}市场监督管理局"))
        .unwrap_or_default();
    json!({
        "service_request_id": r.matter_number,
        "status": if r.closed_at.is_some() { "closed" } else { "open" },
        "status_notes": format!("{zh} ({en})"),
        "service_name": service.map(|s| s.1),
        "service_code": r.kind,
        "description": null,
        "agency_responsible": agency,
        "service_notice": null,
        "requested_datetime": r.created_at,
        "updated_datetime": r.updated_at,
        "expected_datetime": r.due_on.map(|d| format!("{d}T23:59:59+08:00")),
        "address": null,
        "address_id": null,
        "zipcode": null,
        "lat": null,
        "long": null,
        "media_url": null,
    })
}

const PUBLIC_COLUMNS: &str =
    "matter_number, kind, division, closed_at, created_at, updated_at, state, due_on";

fn parse_time(field: &str, v: &str) -> Result<Option<DateTime<Utc>>, AppError> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    DateTime::parse_from_rfc3339(v)
        .map(|d| Some(d.with_timezone(&Utc)))
        .map_err(|_| {
            AppError::bad_request(
                field,
                "时间格式为 W3C（如 2026-10-01T00:00:00+08:00） (a W3C date-time)",
            )
        })
}

/// `GET /open311/v2/requests.json`: the newest 50 matching requests (at most 90 days unless
/// `start_date` says otherwise).
pub async fn get_requests(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let ids: Vec<String> = get("service_request_id")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| flow::canonical(s).unwrap_or_else(|_| s.chars().take(40).collect()))
        .collect();
    if ids.len() > 50 {
        return error(
            StatusCode::BAD_REQUEST,
            "service_request_id 最多 50 个 (at most 50 ids)",
        );
    }
    let code = get("service_code").trim();
    if !code.is_empty() && !SERVICES.iter().any(|s| s.0 == code) {
        return error(
            StatusCode::BAD_REQUEST,
            "service_code: 没有该服务 (no such service)",
        );
    }
    let status = get("status").trim();
    if !matches!(status, "" | "open" | "closed") {
        return error(
            StatusCode::BAD_REQUEST,
            "status 应为 open 或 closed (status is open or closed)",
        );
    }
    let (start, end) = match (
        parse_time("start_date", get("start_date")),
        parse_time("end_date", get("end_date")),
    ) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => return app_error(e),
    };
    // Asked by id: any date; else the last 90 days unless the client says otherwise.
    let (far_past, far_future) = (
        DateTime::<Utc>::from_timestamp(0, 0).unwrap_or_default(),
        Utc::now() + chrono::Duration::days(3650),
    );
    let start = start.unwrap_or_else(|| {
        if ids.is_empty() {
            Utc::now() - chrono::Duration::days(90)
        } else {
            far_past
        }
    });
    let end = end.unwrap_or(far_future);
    let mut sql = format!(
        "SELECT {PUBLIC_COLUMNS} FROM complaints WHERE created_at >= $1 AND created_at < $2"
    );
    let mut n = 3;
    if !code.is_empty() {
        sql.push_str(&format!(" AND kind = ${n}"));
        n += 1;
    }
    match status {
        "open" => sql.push_str(" AND closed_at IS NULL"),
        "closed" => sql.push_str(" AND closed_at IS NOT NULL"),
        _ => {}
    }
    if !ids.is_empty() {
        let list: Vec<String> = (0..ids.len()).map(|i| format!("${}", n + i)).collect();
        sql.push_str(&format!(" AND matter_number IN ({})", list.join(", ")));
    }
    sql.push_str(" ORDER BY id DESC LIMIT 50");
    let rows: Result<Vec<PublicRow>, AppError> = async {
        Ok(on_conn!(&state.db, c => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(start)
                .bind(end);
            if !code.is_empty() {
                query = query.bind(code);
            }
            for id in &ids {
                query = query.bind(id.as_str());
            }
            query.fetch_all(c).await?
        }))
    }
    .await;
    match rows {
        Ok(rows) => Json(Value::Array(rows.iter().map(request_view).collect())).into_response(),
        Err(e) => app_error(e),
    }
}

/// `GET /open311/v2/requests/{id}.json`.
pub async fn get_request(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some(id) = file.strip_suffix(".json") else {
        return error(StatusCode::NOT_FOUND, "只支持 JSON 格式 (JSON only)");
    };
    let Ok(number) = flow::canonical(id) else {
        return error(StatusCode::NOT_FOUND, "没有该请求 (no such request)");
    };
    let sql = format!("SELECT {PUBLIC_COLUMNS} FROM complaints WHERE matter_number = $1");
    let row: Result<Option<PublicRow>, AppError> = async {
        Ok(
            on_conn!(&state.db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(&number)
            .fetch_optional(c)
            .await?),
        )
    }
    .await;
    match row {
        Ok(Some(r)) => Json(json!([request_view(&r)])).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "没有该请求 (no such request)"),
        Err(e) => app_error(e),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn form_pairs_decode() {
        let p = super::form_urlencoded_pairs(
            b"service_code=complaint&attribute%5Bclaim%5D=%E9%80%80%E6%AC%BE&description=a+b&bad=%zz&x",
        );
        assert_eq!(p[0], ("service_code".into(), "complaint".into()));
        assert_eq!(p[1], ("attribute[claim]".into(), "退款".into()));
        assert_eq!(p[2], ("description".into(), "a b".into()));
        assert_eq!(p[3], ("bad".into(), "%zz".into()));
        assert_eq!(p[4], ("x".into(), "".into()));
    }
}
