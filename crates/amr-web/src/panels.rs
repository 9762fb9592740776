//! Panels other crates add to the public entity page (`/entities/{uscc}`), and the links
//! other crates add to the enterprise portal (`/portal/entities/{uscc}`, [`PortalLink`]).
//!
//! The registry owns the entity page, but other contexts publish facts about an entity too
//! (inspection results, complaint statistics, the abnormal-operations list). A context crate
//! cannot import the registry nor the registry a context, so the page asks the
//! [`EntityPanel`]s the server registered at start-up ([`crate::AppState::with_panels`]):
//! each answers with a template of its own web module and that template's context, or
//! nothing. The registry's template includes each panel's template after its own sections,
//! with the context as `panel`, so panels are rendered in the same auto-escaped environment
//! and language as the page.

use std::future::Future;
use std::pin::Pin;

use serde::Serialize;

use amr_kernel::error::AppError;

use crate::page::Viewer;
use crate::state::AppState;

/// What a panel answers: a template of its web module and the context it renders with
/// (available in the template as `panel`).
#[derive(Debug, Clone, Serialize)]
pub struct PanelContent {
    pub template: &'static str,
    pub context: serde_json::Value,
}

pub type PanelFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<PanelContent>, AppError>> + Send + 'a>>;

/// A section of the public entity page contributed by another crate.
pub trait EntityPanel: Send + Sync + std::fmt::Debug {
    /// A short stable name (used as the section's id and in logs), e.g. `inspection_results`.
    fn name(&self) -> &'static str;

    /// The panel for the entity `uscc` (a valid, existing code), or `None` to show nothing.
    fn render<'a>(
        &'a self,
        state: &'a AppState,
        uscc: &'a str,
        viewer: &'a Viewer,
    ) -> PanelFuture<'a>;
}

/// One panel as the entity page's template receives it.
#[derive(Debug, Clone, Serialize)]
pub struct PanelView {
    pub name: &'static str,
    /// `None` when the panel failed: the page shows that the section is unavailable.
    pub template: Option<&'static str>,
    pub panel: serde_json::Value,
}

/// Asks every registered panel, in order of registration. A panel that fails is logged and
/// shown as unavailable; it does not take the page down.
pub async fn render_all(state: &AppState, uscc: &str, viewer: &Viewer) -> Vec<PanelView> {
    let mut out = Vec::with_capacity(state.panels.len());
    for p in state.panels.iter() {
        match p.render(state, uscc, viewer).await {
            Ok(Some(c)) => out.push(PanelView {
                name: p.name(),
                template: Some(c.template),
                panel: c.context,
            }),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(panel = p.name(), error = %e, "an entity page panel failed");
                out.push(PanelView {
                    name: p.name(),
                    template: None,
                    panel: serde_json::Value::Null,
                });
            }
        }
    }
    out
}

/// A page of another crate that the enterprise portal (`/portal/entities/{uscc}`, which the
/// registry owns) links to, by URL: the registry cannot import the crate that serves it. The
/// server registers them at start-up ([`crate::AppState::with_portal_links`]); the portal
/// lists them in order, with the label from the merged catalogs.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PortalLink {
    /// A stable id for the link's element (`portal-link-{id}`).
    pub id: &'static str,
    /// A local path served to the enterprise's own account (no USCC in it: the page takes
    /// the account's).
    pub href: &'static str,
    /// The catalog key of the link's text.
    pub label: &'static str,
}
