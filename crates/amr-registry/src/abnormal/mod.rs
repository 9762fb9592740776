//! The abnormal-operation list (经营异常名录; 企业信息公示暂行条例 art. 17; DOMAIN.md §4) and the
//! serious-violation list (严重违法失信名单) it leads to. See `docs/ANNUAL-REPORTS.md`.
//!
//! - [`rules`]: grounds and bases, removal grounds, the decision day, the 3-year clock.
//! - [`store`]: listing (the sweep after the season, officers on the other grounds), removal
//!   (officers; automatic on a back report), warnings and transfers, reads and search.
//! - [`requests`]: the enterprise's online removal request and the officers' decision on it.
//! - [`web`]: the public list and each entity's acts (page and JSON), the officers' forms.

pub mod requests;
pub mod rules;
pub mod store;
pub mod web;
