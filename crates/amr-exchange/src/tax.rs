//! Tax figures for annual reports (多报合一): [`ExchangeTaxSource`] implements the kernel's
//! `TaxDataSource` over the registered `tax` agency: a request signed with the deployment key
//! POSTed to the agency's endpoint, its answer checked against the agency's registered key,
//! both kept as evidence (the answer's evidence id is the `TaxAnswer`'s reference).

use std::sync::Arc;

use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_kernel::outbound::Outbound;
use amr_kernel::signing::Keyring;
use amr_kernel::tax::{TaxAnswer, TaxDataSource, TaxFuture};

use crate::agency;
use crate::evidence::{self, NewEvidence};
use crate::proto::{self, TaxAnswerBody, TaxRequest};

/// The tax agency as a source of annual-report figures.
#[derive(Debug, Clone)]
pub struct ExchangeTaxSource {
    pub db: Db,
    pub keys: Arc<Keyring>,
    client: Outbound,
}

impl ExchangeTaxSource {
    /// A source asking through `client` (the exchange's, `delivery::http_client`: its time
    /// limit and trusted roots).
    pub fn new(db: Db, keys: Arc<Keyring>, client: Outbound) -> ExchangeTaxSource {
        ExchangeTaxSource { db, keys, client }
    }

    async fn ask(&self, uscc: &str, year: i32) -> Result<Option<TaxAnswer>, AppError> {
        let unavailable = |why: &str| {
            AppError::unavailable(format!("税务数据暂不可用 (tax data not available): {why}"))
        };
        if amr_kernel::codes::uscc::Uscc::parse(uscc).is_err() || !(2000..=2100).contains(&year) {
            return Err(AppError::bad_request(
                "uscc",
                "统一社会信用代码或年度不合格 (the USCC or the year is not valid)",
            ));
        }
        let a = agency::active_of_kind(&self.db, "tax")
            .await?
            .ok_or_else(|| unavailable("未登记税务部门 (no tax agency is registered)"))?;
        let request = TaxRequest {
            kind: "tax_figures_request".into(),
            request_id: uuid::Uuid::now_v7().to_string(),
            agency: a.name.clone(),
            uscc: uscc.to_string(),
            year,
            at: chrono::Utc::now().to_rfc3339(),
        };
        let body = serde_json::to_string(&request).map_err(|e| AppError::Internal(e.into()))?;
        let signed = self
            .keys
            .sign(&proto::signed_bytes(proto::TAG_TAX_REQUEST, &body));
        let sig = proto::encode_signature(&signed.signature);
        let mut tx = self.db.begin().await?;
        evidence::insert(
            &mut tx,
            &NewEvidence {
                agency_id: a.id,
                delivery_id: None,
                direction: "out",
                kind: "tax_request",
                body: &body,
                key_id: &signed.key_id.to_string(),
                signature: &sig,
            },
        )
        .await?;
        tx.commit().await?;
        let key_id = signed.key_id.to_string();
        let resp = self
            .client
            .post(
                &a.endpoint,
                &[
                    ("content-type", "application/json"),
                    (proto::HEADER_KEY_ID, &key_id),
                    (proto::HEADER_SIGNATURE, &sig),
                ],
                body.into_bytes(),
            )
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "asking the tax agency failed");
                unavailable("税务部门无应答 (the tax agency did not answer)")
            })?;
        let their_sig = resp
            .header(proto::HEADER_SIGNATURE)
            .unwrap_or_default()
            .to_string();
        let status = resp.status;
        let answer = String::from_utf8(resp.body.to_vec()).map_err(|_| {
            unavailable("税务部门应答不是文本 (the tax agency's answer is not text)")
        })?;
        let key = a.verifying_key()?;
        if !status.is_success() || !proto::check(&key, proto::TAG_TAX_ANSWER, &answer, &their_sig) {
            return Err(unavailable(
                "税务部门的应答无有效签名 (the tax agency's answer carries no valid signature)",
            ));
        }
        let parsed: TaxAnswerBody = serde_json::from_str(&answer).map_err(|_| {
            unavailable("税务部门的应答格式不对 (the tax agency's answer does not parse)")
        })?;
        if parsed.request_id != request.request_id
            || parsed.uscc != uscc
            || parsed.year != year
            || parsed.agency != a.name
        {
            return Err(unavailable(
                "税务部门的应答与请求不符 (the tax agency's answer is for another request)",
            ));
        }
        let mut tx = self.db.begin().await?;
        let id = evidence::insert(
            &mut tx,
            &NewEvidence {
                agency_id: a.id,
                delivery_id: None,
                direction: "in",
                kind: "tax_answer",
                body: &answer,
                key_id: &proto::key_id_of(&key).to_string(),
                signature: &their_sig,
            },
        )
        .await?;
        tx.commit().await?;
        if !parsed.found {
            return Ok(None);
        }
        Ok(Some(TaxAnswer {
            uscc: parsed.uscc,
            year,
            figures: parsed.figures,
            source: a.name,
            evidence: format!("exchange-evidence:{id}"),
            answered_at: parsed.at,
        }))
    }
}

impl TaxDataSource for ExchangeTaxSource {
    fn figures<'a>(&'a self, uscc: &'a str, year: i32) -> TaxFuture<'a> {
        Box::pin(self.ask(uscc, year))
    }
}
