//! The officer's entity list (`GET /office/entities`) and full record
//! (`GET /office/entities/{uscc}`: history with who made each change, the lifecycle, and for
//! officers who record lifecycle acts the filing and decision forms), within the officer's
//! jurisdiction.
//!
//! The jurisdiction is applied in the store: another region's entity is a 404 page.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use amr_kernel::auth::{Permission, Scope};
use amr_kernel::codes::division::Jurisdiction;
use amr_kernel::error::AppError;
use amr_web::AppState;
use amr_web::extract::PageQuery;
use amr_web::page::{PageError, Viewer, render};

use crate::model::{EntityType, OfficerEntity, PublicEntity, Status};
use crate::store::{self, EntityFilter};

/// Rows per page.
const PAGE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    division: String,
    #[serde(rename = "type")]
    entity_type: String,
    status: String,
    name: String,
    after: String,
}

fn filter_of(q: &ListQuery) -> Result<EntityFilter, AppError> {
    let division_prefix = match q.division.trim() {
        "" => None,
        d => Some(
            Jurisdiction::parse(d)
                .map_err(|e| AppError::bad_request("division", e))?
                .prefix()
                .to_string(),
        ),
    };
    let entity_type = match q.entity_type.trim() {
        "" => None,
        t => Some(EntityType::parse(t).ok_or_else(|| {
            AppError::bad_request("type", "未知的主体类型 (unknown entity type)")
        })?),
    };
    let status = match q.status.trim() {
        "" => None,
        s => Some(
            Status::parse(s)
                .ok_or_else(|| AppError::bad_request("status", "未知的状态 (unknown status)"))?,
        ),
    };
    let name = q.name.trim();
    if name.chars().count() > 50 {
        return Err(AppError::bad_request(
            "name",
            "名称关键字不超过 50 字 (at most 50 characters)",
        ));
    }
    Ok(EntityFilter {
        division_prefix,
        entity_type,
        status,
        name_contains: (!name.is_empty()).then(|| name.to_string()),
    })
}

/// The jurisdiction of a logged-in person whose role reads records; 403 for other roles.
fn records_scope(viewer: &Viewer) -> Result<Scope, PageError> {
    let session = viewer.require_login()?;
    if !session.account.role().can(Permission::ReadRecords) {
        return Err(AppError::forbidden().into());
    }
    Ok(session.account.scope())
}

/// `GET /office/entities`: the entities of the jurisdiction, filtered, 50 a page.
pub async fn list_entities(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<ListQuery>,
) -> Result<Response, PageError> {
    let scope = records_scope(&viewer)?;
    let filter = filter_of(&q)?;
    let after = q.after.trim();
    let after = (!after.is_empty()).then_some(after);
    let items = store::list_scoped(&state.db, &scope, &filter, after, PAGE).await?;
    let total = store::count_scoped(&state.db, &scope, &filter).await?;
    let next = (items.len() as i64 == PAGE)
        .then(|| items.last().map(|e| e.uscc.clone()))
        .flatten();
    let rows: Vec<PublicEntity> = items.iter().map(PublicEntity::from).collect();
    let page = serde_json::json!({
        "items": rows,
        "total": total,
        "next": next,
        "q": {
            "division": q.division.trim(),
            "type": q.entity_type.trim(),
            "status": q.status.trim(),
            "name": q.name.trim(),
        },
        "types": EntityType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "statuses": Status::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
    });
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "registry/office_entities.html",
        page,
    )
}

/// `GET /office/entities/{uscc}`: the full record and its change history; 404 outside the
/// jurisdiction.
pub async fn get_entity(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(uscc): Path<String>,
) -> Result<Response, PageError> {
    let scope = records_scope(&viewer)?;
    let uscc = amr_kernel::codes::uscc::Uscc::parse(&uscc).map_err(|_| AppError::NotFound)?;
    let e = store::get_scoped(&state.db, &scope, uscc.as_str()).await?;
    let history = store::history(&state.db, &scope, uscc.as_str()).await?;
    let detail = crate::lifecycle::view::detail(&state.db, &e).await?;
    let can_act = viewer
        .session
        .as_ref()
        .is_some_and(|s| s.account.role().can(Permission::RecordLifecycle));
    let page = serde_json::json!({
        "entity": OfficerEntity::from(&e),
        "history": history,
        "detail": detail,
        "can_act": can_act,
        "base": format!("/manage/entities/{}", e.uscc),
        "today": state.config.today(),
    });
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "registry/office_entity.html",
        page,
    )
}

/// Rows an XLSX sheet can hold below its header.
const XLSX_MAX_ROWS: i64 = 1_048_575;

/// `GET /office/entities.xlsx?...`: the filtered list as an Excel workbook, written row by
/// row while the store pages through the jurisdiction (constant-memory mode: rows go to a
/// temporary file, not to memory). Personal data stays out of the export.
pub async fn export_entities(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<ListQuery>,
) -> Result<Response, PageError> {
    use axum::http::header;
    use axum::response::IntoResponse;
    let scope = records_scope(&viewer)?;
    let filter = filter_of(&q)?;
    let total = store::count_scoped(&state.db, &scope, &filter).await?;
    if total > XLSX_MAX_ROWS {
        return Err(AppError::rejected(format!(
            "结果共 {total} 行，超过 Excel 的上限，请缩小筛选范围 \
             ({total} rows is more than a sheet holds; narrow the filter)"
        ))
        .into());
    }
    let xlsx = |e: rust_xlsxwriter::XlsxError| AppError::Internal(e.into());
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet_with_constant_memory().map_err(xlsx)?;
    let headers = [
        "统一社会信用代码",
        "名称",
        "主体类型",
        "登记状态",
        "法定代表人/经营者",
        "注册资本（元）",
        "成立日期",
        "住所",
        "行政区划代码",
        "行政区划",
        "行业代码",
        "行业",
    ];
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).map_err(xlsx)?;
    }
    let mut row: u32 = 0;
    store::stream_scoped(&state.db, &scope, &filter, |e| {
        row += 1;
        let p = PublicEntity::from(e);
        let cells = [
            p.uscc.as_str(),
            p.name.as_str(),
            p.entity_type_name,
            p.status_name,
            e.legal_rep.as_str(),
        ];
        for (c, v) in cells.iter().enumerate() {
            sheet.write_string(row, c as u16, *v).map_err(xlsx)?;
        }
        if let Some(cap) = p.capital_yuan {
            sheet.write_number(row, 5, cap as f64).map_err(xlsx)?;
        }
        let rest = [
            p.established.to_string(),
            p.address.clone(),
            p.division.clone(),
            p.division_name.clone(),
            p.industry.clone(),
            p.industry_name.clone(),
        ];
        for (i, v) in rest.iter().enumerate() {
            sheet.write_string(row, 6 + i as u16, v).map_err(xlsx)?;
        }
        Ok(())
    })
    .await?;
    let bytes = tokio::task::spawn_blocking(move || book.save_to_buffer())
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(xlsx)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"entities.xlsx\"",
            ),
        ],
        bytes,
    )
        .into_response())
}
