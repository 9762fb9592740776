//! What the public sees of inspection results: the page `/inspections/results` (search by
//! USCC; filters by plan, department, outcome, area; keyset paging), the API
//! `GET /api/v1/inspections/results`, and the panel of the public entity page. Only published
//! results, and of them only the entity's code and division, the plan, the item, the
//! department, the outcome and the dates: no findings, no names of people.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use amr_kernel::codes::division::Jurisdiction;
use amr_kernel::codes::uscc::Uscc;
use amr_kernel::error::AppError;
use amr_web::AppState;
use amr_web::error::ApiError;
use amr_web::extract::PageQuery;
use amr_web::page::{PageError, Viewer, render};
use amr_web::panels::{EntityPanel, PanelContent, PanelFuture};

use super::model::Outcome;
use super::query::{self, PublicFilter};

/// A positive integer from a path or form, else 404.
pub(crate) fn parse_id(s: &str) -> Result<i64, AppError> {
    s.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or(AppError::NotFound)
}

/// A division-code prefix filter (`""`: none).
pub(crate) fn parse_area(s: &str) -> Result<String, AppError> {
    match s.trim() {
        "" => Ok(String::new()),
        a => Ok(Jurisdiction::parse(a)
            .map_err(|e| AppError::bad_request("area", e))?
            .prefix()
            .to_string()),
    }
}

/// The query of the public page and API (text; parsed by [`PublicQuery::filter`]).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PublicQuery {
    uscc: String,
    plan: String,
    department: String,
    outcome: String,
    area: String,
    before: String,
    limit: String,
}

impl PublicQuery {
    fn filter(&self) -> Result<PublicFilter, AppError> {
        let uscc = match self.uscc.trim() {
            "" => None,
            u => Some(
                Uscc::parse(u)
                    .map_err(|e| AppError::bad_request("uscc", e))?
                    .as_str()
                    .to_string(),
            ),
        };
        let positive = |field: &str, s: &str| -> Result<Option<i64>, AppError> {
            match s.trim() {
                "" => Ok(None),
                t => t
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .map(Some)
                    .ok_or_else(|| {
                        AppError::bad_request(
                            field,
                            format!("{field} 应为正整数 ({field} is a positive integer)"),
                        )
                    }),
            }
        };
        let department = match self.department.trim() {
            "" => None,
            d if d.len() <= 32
                && d.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
            {
                Some(d.to_string())
            }
            _ => {
                return Err(AppError::bad_request(
                    "department",
                    "部门代码只含字母、数字、- 和 _ (a department code has letters, digits, - and _)",
                ));
            }
        };
        let outcome = match self.outcome.trim() {
            "" => None,
            o => Some(Outcome::parse_input(o)?.as_str().to_string()),
        };
        let area = parse_area(&self.area)?;
        Ok(PublicFilter {
            uscc,
            plan_id: positive("plan", &self.plan)?,
            department,
            outcome,
            area: Some(area).filter(|a| !a.is_empty()),
            before: positive("before", &self.before)?,
        })
    }

    fn limit(&self, default: usize) -> Result<usize, AppError> {
        match self.limit.trim() {
            "" => Ok(default),
            l => l
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=query::PUBLIC_PAGE_MAX).contains(n))
                .ok_or_else(|| {
                    AppError::bad_request(
                        "limit",
                        "limit 应在 1 到 100 之间 (limit is between 1 and 100)",
                    )
                }),
        }
    }
}

/// The API routes, public and the officers' (outside the page frame).
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/inspections/results", get(api_results))
        .merge(super::api::routes())
}

/// The public page (inside the page frame).
pub fn page_routes() -> Router<AppState> {
    Router::new().route("/inspections/results", get(public_page))
}

/// `GET /api/v1/inspections/results?uscc=&plan=&department=&outcome=&area=&before=&limit=`:
/// published results, newest first; `next_before` continues the list.
pub async fn api_results(
    State(state): State<AppState>,
    q: Result<Query<PublicQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = q.map_err(|e| {
        AppError::bad_request(
            "query",
            format!(
                "查询参数无法识别 (the query could not be read): {}",
                e.body_text()
            ),
        )
    })?;
    let filter = q.filter()?;
    let (items, next) = query::public(&state.db, &filter, q.limit(50)?).await?;
    Ok(Json(json!({ "items": items, "next_before": next })))
}

/// `GET /inspections/results`: the public list with its search and filters.
pub async fn public_page(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<PublicQuery>,
) -> Result<Response, PageError> {
    let filter = q.filter()?;
    let (items, next) = query::public(&state.db, &filter, 50).await?;
    let (plans, departments) = query::public_choices(&state.db).await?;
    let outcomes: Vec<&str> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
    let page = json!({
        "items": items,
        "next": next,
        "plans": plans.iter().map(|(id, name)| json!({"id": id, "name": name})).collect::<Vec<_>>(),
        "departments": departments.iter().map(|(c, n)| json!({"code": c, "name": n})).collect::<Vec<_>>(),
        "outcomes": outcomes,
        "q": {
            "uscc": filter.uscc,
            "plan": filter.plan_id,
            "department": filter.department,
            "outcome": filter.outcome,
            "area": filter.area,
        },
    });
    render(&state, &viewer, StatusCode::OK, "results/public.html", page)
}

/// The entity page's section of published inspection results.
#[derive(Debug, Default)]
pub struct ResultsPanel;

/// Results shown on the entity page (the public list has the rest).
const PANEL_ROWS: usize = 20;

impl EntityPanel for ResultsPanel {
    fn name(&self) -> &'static str {
        "inspection_results"
    }

    fn render<'a>(
        &'a self,
        state: &'a AppState,
        uscc: &'a str,
        _viewer: &'a Viewer,
    ) -> PanelFuture<'a> {
        Box::pin(async move {
            let filter = PublicFilter {
                uscc: Some(uscc.to_string()),
                ..PublicFilter::default()
            };
            let (items, next) = query::public(&state.db, &filter, PANEL_ROWS).await?;
            Ok(Some(PanelContent {
                template: "results/panel.html",
                context: json!({"items": items, "more": next.is_some(), "uscc": uscc}),
            }))
        })
    }
}
