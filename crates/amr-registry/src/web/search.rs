//! Search: `GET /api/v1/entities?q=...` (JSON) and `GET /search?q=...` (the results page).
//!
//! Both take `q`, `city` (4 digits), `county` (6 digits), `type` and `status` (keys or
//! Chinese names) and `page` (from 1, [`PER_PAGE`] hits a page, at most [`MAX_PAGE`]). The
//! index is reached through an `Extension<Arc<EntityIndex>>` ([`super::search_routes`]).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

use amr_kernel::codes::division::{Level, divisions};
use amr_kernel::error::AppError;
use amr_web::AppState;
use amr_web::error::ApiError;
use amr_web::extract::{PageQuery, percent_encode};
use amr_web::page::{PageError, Viewer, render};

use crate::model::{EntityType, Status};
use crate::search::{EntityIndex, Hit, MAX_OFFSET, SearchQuery};

/// Hits per page.
pub const PER_PAGE: usize = 20;
/// The last page served.
pub const MAX_PAGE: usize = MAX_OFFSET / PER_PAGE + 1;
/// The province whose prefectures the page offers as the city filter.
const PROVINCE: &str = "37";

/// The query string of both routes (all text, parsed by [`Params::to_query`]).
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct Params {
    #[serde(default)]
    q: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    county: String,
    #[serde(default, rename = "type")]
    entity_type: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    page: String,
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

impl Params {
    fn page(&self) -> Result<usize, AppError> {
        match self.page.trim() {
            "" => Ok(1),
            p => match p.parse::<usize>() {
                Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
                _ => Err(AppError::bad_request(
                    "page",
                    format!("page 应为 1–{MAX_PAGE} 的整数 (page must be 1–{MAX_PAGE})"),
                )),
            },
        }
    }

    fn to_query(&self) -> Result<SearchQuery, AppError> {
        let entity_type = match opt(&self.entity_type) {
            None => None,
            Some(t) => Some(EntityType::parse(&t).ok_or_else(|| {
                AppError::bad_request("type", format!("未知的主体类型 {t} (unknown entity type)"))
            })?),
        };
        let status = match opt(&self.status) {
            None => None,
            Some(s) => Some(Status::parse(&s).ok_or_else(|| {
                AppError::bad_request("status", format!("未知的登记状态 {s} (unknown status)"))
            })?),
        };
        Ok(SearchQuery {
            text: self.q.clone(),
            city: opt(&self.city),
            county: opt(&self.county),
            entity_type,
            status,
            offset: (self.page()? - 1) * PER_PAGE,
            limit: PER_PAGE,
        })
    }

    /// The query string of page `page` with the same search.
    fn link(&self, page: usize) -> String {
        let mut s = format!("/search?q={}", percent_encode(self.q.trim()));
        for (k, v) in [
            ("city", &self.city),
            ("county", &self.county),
            ("type", &self.entity_type),
            ("status", &self.status),
        ] {
            if !v.trim().is_empty() {
                s.push_str(&format!("&{k}={}", percent_encode(v.trim())));
            }
        }
        if page > 1 {
            s.push_str(&format!("&page={page}"));
        }
        s
    }
}

/// One result as the API and the page show it.
#[derive(Debug, Serialize)]
pub struct Item {
    uscc: String,
    name: String,
    status: Status,
    entity_type: EntityType,
    division: String,
    division_name: String,
}

impl From<Hit> for Item {
    fn from(h: Hit) -> Item {
        let division_name = divisions().full_name(&h.division).unwrap_or_default();
        Item {
            uscc: h.uscc,
            name: h.name,
            status: h.status,
            entity_type: h.entity_type,
            division: h.division,
            division_name,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Page {
    items: Vec<Item>,
    total: usize,
    page: usize,
}

/// Runs the search off the async threads (a query touches the index files).
async fn run(index: Arc<EntityIndex>, params: &Params) -> Result<Page, AppError> {
    let query = params.to_query()?;
    let page = params.page()?;
    let results = tokio::task::spawn_blocking(move || index.search(&query))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    Ok(Page {
        items: results.items.into_iter().map(Item::from).collect(),
        total: results.total,
        page,
    })
}

/// `GET /api/v1/entities?q=TEXT&city=&county=&type=&status=&page=`.
pub async fn api_search(
    Extension(index): Extension<Arc<EntityIndex>>,
    Query(params): Query<Params>,
) -> Result<Json<Page>, ApiError> {
    Ok(Json(run(index, &params).await?))
}

#[derive(Debug, Serialize)]
struct Choice {
    code: &'static str,
    name: &'static str,
}

fn choices(parent: &str, level: Level) -> Vec<Choice> {
    divisions()
        .children(parent)
        .filter(|d| d.level == level)
        .map(|d| Choice {
            code: d.code,
            name: d.name,
        })
        .collect()
}

/// `GET /search`: the search box, and the results with filters and paging when `q` is given.
pub async fn search_page(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(index): Extension<Arc<EntityIndex>>,
    PageQuery(params): PageQuery<Params>,
) -> Result<Response, PageError> {
    let searched = !params.q.trim().is_empty();
    let results = if searched {
        Some(run(index, &params).await?)
    } else {
        None
    };
    let pages = results
        .as_ref()
        .map_or(0, |r| r.total.div_ceil(PER_PAGE).clamp(1, MAX_PAGE));
    let page = params.page().unwrap_or(1);
    let prev = (page > 1).then(|| params.link(page - 1));
    let next = (page < pages).then(|| params.link(page + 1));
    let city = opt(&params.city).unwrap_or_default();
    let counties = if city.len() == 4 {
        choices(&city, Level::County)
    } else {
        Vec::new()
    };
    let ctx = serde_json::json!({
        "params": params,
        "results": results,
        "pages": pages,
        "prev": prev,
        "next": next,
        "cities": choices(PROVINCE, Level::Prefecture),
        "counties": counties,
        "types": EntityType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "statuses": Status::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
    });
    render(&state, &viewer, StatusCode::OK, "registry/search.html", ctx)
}
