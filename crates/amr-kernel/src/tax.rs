//! The port through which the registry's annual reports (多报合一) get an enterprise's
//! financial figures from the tax agency.
//!
//! The registry asks a [`TaxDataSource`]; the exchange context implements it over the partner
//! agency link (a signed request, a signed answer kept as evidence); the server wires one to the
//! other, so neither context imports the other. Amounts are in fen (分, 1/100 yuan) so they add
//! up exactly.

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The eight financial items of an annual report (企业信息公示暂行条例 art. 9 (7)), in fen.
/// `None` where the agency has no figure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxFigures {
    /// 资产总额
    pub total_assets: Option<i64>,
    /// 负债总额
    pub total_liabilities: Option<i64>,
    /// 所有者权益合计
    pub owners_equity: Option<i64>,
    /// 营业总收入
    pub total_revenue: Option<i64>,
    /// 主营业务收入
    pub main_business_revenue: Option<i64>,
    /// 利润总额
    pub total_profit: Option<i64>,
    /// 净利润
    pub net_profit: Option<i64>,
    /// 纳税总额
    pub total_tax: Option<i64>,
}

/// The figures of one enterprise for one year, with where they came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxAnswer {
    pub uscc: String,
    pub year: i32,
    pub figures: TaxFigures,
    /// Who answered (the agency's registered name, e.g. `tax`), shown as each value's source.
    pub source: String,
    /// A reference to the kept evidence (the signed answer), e.g. an exchange message id.
    pub evidence: String,
    /// When the agency answered (RFC 3339).
    pub answered_at: String,
}

pub type TaxFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<TaxAnswer>, AppError>> + Send + 'a>>;

/// Where annual-report figures come from. `Ok(None)`: the agency has no record of the
/// enterprise for that year (the enterprise fills the items in itself). An error: the agency
/// could not be asked now (the form opens without prefilled values and says so).
pub trait TaxDataSource: Send + Sync + std::fmt::Debug {
    fn figures<'a>(&'a self, uscc: &'a str, year: i32) -> TaxFuture<'a>;
}

/// No tax agency wired (a deployment without the exchange): every request is "not available".
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTaxData;

impl TaxDataSource for NoTaxData {
    fn figures<'a>(&'a self, _uscc: &'a str, _year: i32) -> TaxFuture<'a> {
        Box::pin(async {
            Err(AppError::unavailable(
                "税务数据暂不可用：未配置税务部门数据交换 (tax data not available: no tax agency is configured)",
            ))
        })
    }
}
