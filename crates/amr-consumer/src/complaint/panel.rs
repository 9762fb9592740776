//! The complaint section of the public entity page: the business's complaint statistics
//! (totals, never who complained), whether it takes part in ODR, links to the statistics
//! by year and to the complaint form; its own account also gets the link to its portal.

use serde_json::json;

use amr_kernel::auth::Role;
use amr_kernel::on_conn;
use amr_web::AppState;
use amr_web::page::Viewer;
use amr_web::panels::{EntityPanel, PanelContent, PanelFuture};

#[derive(Debug)]
pub struct ComplaintPanel;

impl EntityPanel for ComplaintPanel {
    fn name(&self) -> &'static str {
        "complaints"
    }

    fn render<'a>(
        &'a self,
        state: &'a AppState,
        uscc: &'a str,
        viewer: &'a Viewer,
    ) -> PanelFuture<'a> {
        Box::pin(async move {
            let t =
                super::publicity::published_totals(&state.db, uscc, super::today(state)).await?;
            let odr: Option<bool> = on_conn!(&state.db, c => sqlx::query_scalar(
                "SELECT active FROM odr_enterprises WHERE uscc = $1",
            )
            .bind(uscc)
            .fetch_optional(c)
            .await?);
            let own = viewer.session.as_ref().is_some_and(|s| {
                s.account.role() == Role::Enterprise && s.account.uscc.as_deref() == Some(uscc)
            });
            Ok(Some(PanelContent {
                template: "complaint/panel.html",
                context: json!({
                    "uscc": uscc, "received": t["received"], "handled": t["handled"],
                    "settled": t["settled"], "settlement_rate": t["settlement_rate"],
                    "odr": odr.unwrap_or(false), "own": own,
                }),
            }))
        })
    }
}
