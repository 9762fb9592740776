//! Advance compensation (先行赔付). Markets and platforms pledge to pay consumers first when a
//! seller in their market or on their platform is complained about (their USCC, the scope of
//! the pledge, a limit per complaint); officers record on a complaint matter that the market
//! paid the consumer (amount, date, payer) and, later, what it recovered from the seller
//! (amount, date). Each payment and recovery is a row of this part and a message on the
//! complaint's timeline (the kernel matter engine), in one transaction with its event and
//! audit entry. Figures: paid in advance and recovered, per market. Guide:
//! `docs/CONSUMER-CONFIDENCE.md`.
//!
//! The complaint names the seller (the matter's business); the market is named on this
//! side, by the payment (the complaint's own fields are not changed).
//!
//! - [`store`]: pledges, payments, recoveries, figures (SQL on both backends);
//! - [`web`]: officers `/office/compensation…`, the market's portal `/portal/compensation`,
//!   the JSON API.

pub mod store;
pub mod web;

use amr_kernel::error::AppError;

/// What pledges: a market (商品交易市场) or a platform (网络交易平台).
pub fn parse_kind(value: &str) -> Result<&'static str, AppError> {
    match value.trim() {
        "market" => Ok("market"),
        "platform" => Ok("platform"),
        _ => Err(AppError::bad_request(
            "kind",
            "类型应为 market（商品交易市场）或 platform（网络交易平台） (the kind is market or platform)",
        )),
    }
}

/// An amount in yuan, more than zero; returns fen.
pub fn positive_yuan(field: &str, value: &str) -> Result<i64, AppError> {
    let fen = crate::complaint::model::parse_yuan(field, value)?;
    if fen == 0 {
        return Err(AppError::bad_request(
            field,
            "金额应大于 0 (the amount must be more than 0)",
        ));
    }
    Ok(fen)
}

#[cfg(test)]
mod tests {
    #[test]
    fn kinds_and_amounts() {
        assert_eq!(super::parse_kind("platform").unwrap(), "platform");
        assert!(super::parse_kind("bank").is_err());
        assert_eq!(super::positive_yuan("a", "12.5").unwrap(), 1250);
        assert!(super::positive_yuan("a", "0").is_err());
        assert!(super::positive_yuan("a", "-3").is_err());
    }
}
