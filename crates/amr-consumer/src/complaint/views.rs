//! The JSON views shared by the API and the pages: what the complainant, the officers, the
//! queue and the public see of a matter (each view decides what personal data it carries).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use amr_kernel::error::AppError;
use amr_kernel::matter::{Matter, TimelineEntry};
use amr_web::AppState;
use amr_web::error::ApiError;

use super::flow::{self, FileError};
use super::{Deps, kinds, model, store};

/// A file error as JSON: the kernel's policy, or the county candidates (422), or the
/// duplicate's number (409).
pub fn file_error_response(e: FileError) -> Response {
    match e {
        FileError::App(e) => ApiError(e).into_response(),
        FileError::County {
            message,
            candidates,
        } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({
                "error": "county_required", "field": "county", "message": message,
                "candidates": candidates,
            })),
        )
            .into_response(),
        FileError::Duplicate { number } => (
            StatusCode::CONFLICT,
            Json(json!({
                "error": "duplicate", "message": flow::duplicate_message(&number),
                "existing": number,
            })),
        )
            .into_response(),
    }
}

pub(crate) fn division_name(code: &str) -> String {
    amr_kernel::codes::division::divisions()
        .full_name(code)
        .unwrap_or_else(|| code.to_string())
}

pub(crate) fn state_json(kind: &str, state: &str) -> Value {
    let (zh, en) = kinds::state_label(kind, state);
    json!({"code": state, "zh": zh, "en": en})
}

/// The decisions a complainant sees: filing, each transition and transfer with its fields,
/// never internal notes or officers' names.
pub fn public_timeline(kind: &str, entries: &[TimelineEntry]) -> Vec<Value> {
    entries
        .iter()
        .filter(|e| !e.internal)
        .filter_map(|e| {
            let at = e.at;
            match e.entry.as_str() {
                "created" => Some(json!({
                    "at": at, "what": {"zh": "已登记", "en": "registered"},
                    "state": e.to_state.as_deref().map(|s| state_json(kind, s)),
                })),
                "transition" | "reopened" => {
                    let t = e.transition.clone().unwrap_or_default();
                    let (zh, en) = kinds::transition_label(kind, &t);
                    let mut fields = e.body.get("fields").cloned().unwrap_or(json!({}));
                    if let Some(o) = fields.get("outcome").and_then(Value::as_str)
                        && let Some(l) = kinds::spec(kind)
                            .and_then(|k| amr_kernel::matter::Kind::new(k).ok())
                            .and_then(|k| k.outcome_label(o))
                    {
                        fields["outcome_label"] = json!({"zh": l.zh, "en": l.en});
                    }
                    let by = if t == "consumer_refuse" {
                        json!({"zh": "消费者", "en": "the consumer"})
                    } else if e.actor == "system" || e.actor.starts_with("system") {
                        json!({"zh": "系统", "en": "the system"})
                    } else if matches!(t.as_str(), "odr_settle" | "odr_refuse") {
                        json!({"zh": "经营者", "en": "the business"})
                    } else {
                        json!({"zh": "市场监管部门", "en": "the bureau"})
                    };
                    Some(json!({
                        "at": at, "transition": t, "what": {"zh": zh, "en": en}, "by": by,
                        "state": e.to_state.as_deref().map(|s| state_json(kind, s)),
                        "fields": fields,
                    }))
                }
                "transferred" => {
                    let to = e.body["to"]["division"].as_str().unwrap_or_default();
                    Some(json!({
                        "at": at, "transition": "transfer",
                        "what": {"zh": "转办", "en": "transferred"},
                        "to": {"code": to, "name": division_name(to)},
                        "fields": {"reason": e.body.get("reason")},
                    }))
                }
                _ => None,
            }
        })
        .collect()
}

/// A matter as its complainant sees it.
pub fn track_view(r: &store::Complaint, m: &Matter, timeline: &[TimelineEntry]) -> Value {
    json!({
        "number": m.number,
        "kind": m.kind,
        "state": state_json(&m.kind, &m.state),
        "business_name": r.business_name,
        "division": {"code": m.division, "name": division_name(&m.division)},
        "due_on": m.due_on,
        "created_at": m.created_at,
        "closed_at": m.closed_at,
        "outcome": m.outcome,
        "settlement": r.settlement,
        "settlement_amount": r.settlement_fen.map(model::yuan),
        "recovered_amount": r.recovered_fen.map(model::yuan),
        "can_refuse_settlement": m.state == "odr_settled",
        "decisions": public_timeline(&m.kind, timeline),
    })
}

/// A row as officers see it (personal data included: they handle it).
pub fn officer_view(r: &store::Complaint, m: &Matter, as_of: chrono::NaiveDate) -> Value {
    json!({
        "number": r.matter_number,
        "kind": r.kind,
        "source": r.source,
        "state": state_json(&r.kind, &m.state),
        "version": m.version,
        "division": {"code": m.division, "name": division_name(&m.division)},
        "uscc": r.uscc,
        "business_name": r.business_name,
        "business_address": r.business_address,
        "complainant": {"name": r.complainant_name, "phone": r.phone},
        "purchase": r.purchase,
        "purchase_date": r.purchase_date,
        "amount": r.amount_fen.map(model::yuan),
        "facts": r.facts,
        "claim": r.claim,
        "due_on": m.due_on,
        "overdue": m.overdue_on(as_of),
        "late": m.late,
        "escalated_to": m.escalated_to,
        "odr": r.odr,
        "odr_result": r.odr_result,
        "settlement": r.settlement,
        "settlement_amount": r.settlement_fen.map(model::yuan),
        "consumer_refused": r.consumer_refused,
        "outcome": m.outcome,
        "recovered_amount": r.recovered_fen.map(model::yuan),
        "created_at": m.created_at,
        "closed_at": m.closed_at,
        "actions": kinds::spec(&r.kind)
            .map(|k| k.transitions.iter()
                .filter(|t| t.from.contains(&m.state.as_str()))
                .filter(|t| !matches!(t.who, amr_kernel::matter::Who::System))
                .filter(|t| !matches!(t.name, "odr_settle" | "odr_refuse"))
                .map(|t| json!({"name": t.name, "zh": t.label.zh, "en": t.label.en}))
                .collect::<Vec<_>>())
            .unwrap_or_default(),
    })
}

/// A queue row (no phone; the name masked).
pub fn queue_row(r: &store::Complaint, as_of: chrono::NaiveDate) -> Value {
    json!({
        "number": r.matter_number,
        "kind": r.kind,
        "state": state_json(&r.kind, &r.state),
        "division": r.division,
        "business_name": r.business_name,
        "complainant": model::mask_name(&r.complainant_name),
        "due_on": r.due_on,
        "overdue": r.closed_at.is_none() && r.due_on.is_some_and(|d| d < as_of),
        "created_at": r.created_at,
        "odr": r.odr,
    })
}

/// The statistics of a business as the public sees them.
pub async fn stats_view(
    state: &AppState,
    deps: &Deps,
    uscc: &str,
    period: &str,
) -> Result<Value, AppError> {
    let g = super::publicity::Granularity::parse(period)?;
    let code = amr_kernel::codes::uscc::Uscc::parse(uscc.trim())
        .map_err(|_| AppError::NotFound)?
        .to_string();
    let b = deps
        .registry
        .lookup(&code)
        .await?
        .ok_or(AppError::NotFound)?;
    let today = super::today(state);
    let periods = super::publicity::periods(&state.db, &b.uscc, g, today, true).await?;
    let total = super::publicity::published_totals(&state.db, &b.uscc, today).await?;
    Ok(json!({
        "uscc": b.uscc,
        "name": b.name,
        "period": g.as_str(),
        "periods": periods,
        "total": total,
        "review_working_days": super::publicity::REVIEW_WORKING_DAYS,
        "definitions": {
            "received": "该期内收到的针对该经营者的投诉件数 (complaints about it filed in the period)",
            "handled": "其中已办结的件数（和解、不予受理或调解办结）(of those, closed)",
            "settled": "其中经营者和解或调解成功的件数 (of those, settled by the business or by mediation)",
            "settlement_rate": "和解件数 ÷ 办结件数 (settled ÷ handled)",
            "published": "统计期结束后，经营者有 5 个工作日查看并作出说明，期满后公示；已办结、和解件数按查询时统计 (after a period ends the business has 5 working days to see the figures and answer; then they are published; handled and settled are counted as of now)",
            "total": "已公示各月合计 (the published months together)",
        },
    }))
}
