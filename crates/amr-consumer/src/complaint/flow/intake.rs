//! Filing: the intake parsed, the business resolved and routed to its county bureau (the
//! county picker's candidates when the address does not settle it), duplicates refused,
//! a complaint about an ODR participant sent to the business first.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use serde_json::json;

use amr_kernel::audit::{self, Change};
use amr_kernel::codes::division::{Level, divisions};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::matter::{ActInput, Acting, CourseStep, Matter, NewAttachment, NewMatter};

use super::group::{IntakeWriter, RoutedIntake};
use crate::complaint::model::{self, BusinessRef, IntakeInput, IntakeKind};
use crate::complaint::{BusinessDirectory, engine, followup, store};

/// A county the complainant may pick.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub code: String,
    pub name: String,
}

/// Why an intake was not filed.
#[derive(Debug)]
pub enum FileError {
    /// A bad field, or anything else the kernel's policy answers.
    App(AppError),
    /// The county could not be settled from the address: the complainant picks one.
    County {
        message: String,
        candidates: Vec<Candidate>,
    },
    /// The same complainant filed the same facts about the same business, still open.
    Duplicate { number: String },
}

impl From<AppError> for FileError {
    fn from(e: AppError) -> FileError {
        FileError::App(e)
    }
}

impl FileError {
    /// The message, Chinese first.
    pub fn message(&self) -> String {
        match self {
            FileError::App(e) => e.public_message(),
            FileError::County { message, .. } => message.clone(),
            FileError::Duplicate { number } => duplicate_message(number),
        }
    }
}

pub fn duplicate_message(number: &str) -> String {
    format!(
        "您已就同一经营者的同一事实提交过，事项编号 {number}，正在办理中，请勿重复提交 \
         (you already filed the same facts about the same business as {number}, which is still open)"
    )
}

/// A filed matter.
#[derive(Debug, Clone)]
pub struct Filed {
    pub matter: Matter,
    pub odr: bool,
    pub business_name: String,
}

pub fn county_of(code: &str) -> Option<&'static str> {
    let c = code.get(..6)?;
    divisions()
        .get(c)
        .filter(|d| d.level == Level::County)
        .map(|d| d.code)
}

fn county_name(code: &str) -> String {
    divisions()
        .full_name(code)
        .unwrap_or_else(|| code.to_string())
}

fn counties_under(code: &str) -> Vec<Candidate> {
    let table = divisions();
    let mut out = Vec::new();
    let mut stack = vec![code.to_string()];
    while let Some(c) = stack.pop() {
        for d in table.children(&c) {
            match d.level {
                Level::County => out.push(Candidate {
                    code: d.code.to_string(),
                    name: county_name(d.code),
                }),
                Level::Province | Level::Prefecture => stack.push(d.code.to_string()),
                Level::Town => {}
            }
        }
    }
    out.sort_by(|a, b| a.code.cmp(&b.code));
    out
}

/// The county bureau for a free-text business: the county of its address (amr-address),
/// else the one the complainant picked (which must lie in the city the address names).
pub fn route_address(address: &str, picked: Option<&str>) -> Result<String, FileError> {
    let parsed = amr_address::parse(address, None);
    let found = parsed.county_code.as_deref().and_then(county_of);
    match (found, picked) {
        (Some(c), None) => Ok(c.to_string()),
        (Some(c), Some(p)) if p == c => Ok(c.to_string()),
        (Some(c), Some(p)) => Err(AppError::bad_request(
            "county",
            format!(
                "地址位于{}，与所选县（区）{}不符 (the address is in {c}, not in the county picked, {p})",
                county_name(c),
                county_name(p)
            ),
        )
        .into()),
        (None, Some(p)) => {
            let county = county_of(p).filter(|c| c.len() == p.len()).ok_or_else(|| {
                AppError::bad_request(
                    "county",
                    "所选县（区）代码不存在 (no such county code)",
                )
            })?;
            if let Some(city) = parsed.city_code.as_deref()
                && !county.starts_with(city)
            {
                return Err(AppError::bad_request(
                    "county",
                    format!(
                        "所选县（区）不在地址所写的{}内 (the county picked is not in the city of the address, {city})",
                        county_name(city)
                    ),
                )
                .into());
            }
            Ok(county.to_string())
        }
        (None, None) => {
            let mut candidates: Vec<Candidate> = parsed
                .ambiguities
                .iter()
                .filter(|a| a.level == "county")
                .flat_map(|a| a.candidates.iter())
                .filter_map(|c| county_of(&c.code))
                .map(|c| Candidate {
                    code: c.to_string(),
                    name: county_name(c),
                })
                .collect();
            if candidates.is_empty()
                && let Some(up) = parsed
                    .city_code
                    .as_deref()
                    .or(parsed.province_code.as_deref())
            {
                candidates = counties_under(up);
            }
            candidates.dedup_by(|a, b| a.code == b.code);
            let message = if candidates.is_empty() {
                "无法从地址确定经营者所在的县（市、区），请填写更完整的地址或县（区）的 6 位行政区划代码 \
                 (the county cannot be told from the address: give a fuller address or the county's 6-digit code)"
                    .to_string()
            } else {
                format!(
                    "无法从地址确定经营者所在的县（市、区），请从 {} 个候选中选择 \
                     (the county cannot be told from the address: pick one of the {} candidates)",
                    candidates.len(),
                    candidates.len()
                )
            };
            Err(FileError::County {
                message,
                candidates,
            })
        }
    }
}

/// Files an intake: parsed, the business resolved (registry) and routed to its county bureau,
/// refused as a duplicate while the same one is open; a complaint about an ODR participant
/// goes to the business first, any other to the bureau. `acting` is the system (public
/// intake) with the client's address. The recording goes through the intake's group commit
/// (`writer`): answered after the commit that holds it.
pub async fn file(
    writer: &IntakeWriter,
    registry: &dyn BusinessDirectory,
    acting: &Acting,
    input: &IntakeInput,
    source: &'static str,
    today: NaiveDate,
) -> Result<Filed, FileError> {
    file_with(writer, registry, acting, input, source, today, Vec::new()).await
}

/// [`file`] with the complainant's evidence attached in the same transaction (files checked
/// by `evidence::check_file`; at most `evidence::MAX_FILES`).
pub async fn file_with(
    writer: &IntakeWriter,
    registry: &dyn BusinessDirectory,
    acting: &Acting,
    input: &IntakeInput,
    source: &'static str,
    today: NaiveDate,
    files: Vec<NewAttachment>,
) -> Result<Filed, FileError> {
    if files.len() > crate::complaint::evidence::MAX_FILES {
        return Err(AppError::bad_request(
            "files",
            format!(
                "每件最多 {} 个附件 (at most {} attachments a matter)",
                crate::complaint::evidence::MAX_FILES,
                crate::complaint::evidence::MAX_FILES
            ),
        )
        .into());
    }
    let routed = route(registry, input, source, today).await?;
    let business_name = routed.business_name.clone();
    let (matter, odr) = writer.record(acting.clone(), routed, files, today).await?;
    Ok(Filed {
        matter,
        odr,
        business_name,
    })
}

/// The part of filing that needs no write lock: the intake parsed, the business looked up in
/// the registry (or its address read) and the county bureau settled.
pub async fn route(
    registry: &dyn BusinessDirectory,
    input: &IntakeInput,
    source: &'static str,
    today: NaiveDate,
) -> Result<RoutedIntake, FileError> {
    let intake = input.parse(today)?;
    let (uscc, business_name, business_address, county) = match &intake.business {
        BusinessRef::Registered(u) => {
            let b = registry.lookup(u).await?.ok_or_else(|| {
                AppError::bad_request(
                    "uscc",
                    "登记系统中没有该统一社会信用代码的经营者，请核对或改填名称和地址 \
                     (no business with this USCC is registered: check it, or give the name and address)",
                )
            })?;
            // The registered division's county; should the record hold none (a code no
            // longer in the table), the county its registered address names, or the pick.
            let county: String = match county_of(&b.division) {
                Some(c) => c.to_string(),
                None => route_address(&b.address, intake.county.as_deref())?,
            };
            let county = county.as_str();
            if let Some(p) = intake.county.as_deref()
                && p != county
            {
                return Err(AppError::bad_request(
                    "county",
                    format!(
                        "该经营者登记在{}，与所选县（区）不符 (the business is registered in {county}, not in the county picked)",
                        county_name(county)
                    ),
                )
                .into());
            }
            (Some(b.uscc), b.name, Some(b.address), county.to_string())
        }
        BusinessRef::FreeText { name, address } => {
            let county = route_address(address, intake.county.as_deref())?;
            (None, name.clone(), Some(address.clone()), county)
        }
    };
    Ok(RoutedIntake {
        intake,
        uscc,
        business_name,
        business_address,
        county,
        source,
        media_url: None,
    })
}

/// The text before an Open311 `media_url` in the complainant's message.
pub const MEDIA_URL_NOTE: &str = "Open311 附件链接（未下载，仅供参考 / a link, not downloaded）：";

/// An intake parsed and routed, ready to record.
#[derive(Debug, Clone)]
pub struct Routed<'a> {
    pub intake: &'a model::Intake,
    pub uscc: Option<&'a str>,
    pub business_name: &'a str,
    pub business_address: Option<&'a str>,
    /// The county bureau (6 digits).
    pub county: &'a str,
    /// form | api | open311 | demo
    pub source: &'a str,
    /// Open311's `media_url`: kept as a link in a message from the complainant, never
    /// fetched.
    pub media_url: Option<&'a str>,
}

impl Routed<'_> {
    /// The duplicate key: the same complainant (phone), business and facts.
    pub fn dup_key(&self) -> String {
        let business_key = self.uscc.unwrap_or(self.business_name);
        model::dup_key(
            self.intake.kind,
            &self.intake.phone,
            business_key,
            &self.intake.facts,
        )
    }
}

/// What the group commit read once for a whole batch, inside its transaction before the
/// first filing ([`record_known`]): the open matters holding the batch's duplicate keys,
/// with those the batch has filed since added, and the ODR participants among its
/// businesses.
#[derive(Debug, Default)]
pub struct Known {
    /// Duplicate key → the open matter's number.
    pub open: std::collections::HashMap<String, String>,
    /// USCC → whether its ODR participation is active (absent: not a participant).
    pub odr: std::collections::HashMap<String, bool>,
}

/// Records a routed intake in the caller's transaction: the duplicate refusal, the matter
/// (to the business first if it takes part in ODR), the complaint row, the counters and
/// the notice, the evidence, the event and the audit entry. Returns the matter and whether
/// it went to ODR. A duplicate is refused before anything is written.
pub async fn record(
    tx: &mut amr_kernel::db::Tx,
    acting: &Acting,
    r: &Routed<'_>,
    files: &[NewAttachment],
    today: NaiveDate,
) -> Result<(Matter, bool), FileError> {
    record_known(tx, acting, r, files, today, None).await
}

/// [`record`], the duplicate check and the ODR participation taken from `known` (read in
/// this transaction) rather than read again; a filing recorded adds its key to `known`.
pub async fn record_known(
    tx: &mut amr_kernel::db::Tx,
    acting: &Acting,
    r: &Routed<'_>,
    files: &[NewAttachment],
    today: NaiveDate,
    known: Option<&mut Known>,
) -> Result<(Matter, bool), FileError> {
    let intake = r.intake;
    let uscc: Option<String> = r.uscc.map(str::to_string);
    let dup_key = r.dup_key();
    let open = match known.as_deref() {
        Some(k) => k.open.get(&dup_key).cloned(),
        None => store::open_duplicate(tx, &dup_key).await?,
    };
    if let Some(number) = open {
        return Err(FileError::Duplicate { number });
    }
    let odr = intake.kind == IntakeKind::Complaint
        && match &uscc {
            Some(u) => match known.as_deref() {
                Some(k) => k.odr.get(u).copied().unwrap_or(false),
                None => store::is_odr(tx, u).await?,
            },
            None => false,
        };
    let new = new_matter(r);
    // A complaint goes on at once to the business (ODR) or the bureau: the matter is
    // created already past that first transition (one row written, see
    // `Engine::create_and_act`).
    let (m, transition) = if intake.kind == IntakeKind::Complaint {
        let t = if odr { "to_odr" } else { "to_bureau" };
        let m = engine()
            .create_and_act(
                tx,
                acting,
                &new,
                &ActInput {
                    transition: t.into(),
                    version: 1,
                    fields: BTreeMap::new(),
                },
                today,
            )
            .await?;
        (m, Some(t))
    } else {
        (engine().create(tx, acting, &new, today).await?, None)
    };
    store::insert(tx, &m, &new_row(r, &dup_key, odr, today)).await?;
    followup::after_filing(tx, &m, transition, today).await?;
    let by = crate::complaint::evidence::complainant(acting.actor.ip.clone());
    for f in files {
        engine().attach(tx, &by, &m.number, f).await?;
    }
    if let Some(url) = r.media_url {
        engine()
            .add_message(tx, &by, &m.number, &format!("{MEDIA_URL_NOTE}{url}"), false)
            .await?;
    }
    filed_records(tx, acting, r, &m, odr).await?;
    if let Some(k) = known {
        k.open.insert(dup_key, m.number.clone());
    }
    Ok((m, odr))
}

/// The matter of a routed intake, before it is created.
fn new_matter(r: &Routed<'_>) -> NewMatter {
    let title = format!(
        "{}：{}",
        r.intake.kind.label_zh(),
        crate::contract::short(r.business_name, 80)
    );
    NewMatter {
        kind: r.intake.kind.as_str().to_string(),
        title,
        division: r.county.to_string(),
        uscc: r.uscc.map(str::to_string),
        payload: json!({"business_name": r.business_name, "source": r.source}),
        assignee_account: None,
        assignee_unit: None,
    }
}

/// The complaint row of a routed intake filed on `today`.
fn new_row<'a>(
    r: &'a Routed<'a>,
    dup_key: &'a str,
    odr: bool,
    today: NaiveDate,
) -> store::NewRow<'a> {
    let intake = r.intake;
    store::NewRow {
        kind: intake.kind.as_str(),
        source: r.source,
        uscc: r.uscc,
        business_name: r.business_name,
        business_address: r.business_address,
        complainant_name: &intake.name,
        phone: &intake.phone,
        purchase: &intake.purchase,
        purchase_date: intake.purchase_date,
        amount_fen: intake.amount_fen,
        facts: &intake.facts,
        claim: &intake.claim,
        dup_key,
        odr,
        year: today.year(),
        category: intake.category,
        filed_on: today,
    }
}

/// The filing's public event (`consumer.complaint.filed`) and audit entry.
async fn filed_records(
    tx: &mut amr_kernel::db::Tx,
    acting: &Acting,
    r: &Routed<'_>,
    m: &Matter,
    odr: bool,
) -> Result<(), AppError> {
    let kind = r.intake.kind.as_str();
    let mut event = NewEvent::public(
        "consumer.complaint.filed",
        json!({"number": m.number, "kind": kind, "division": r.county, "odr": odr}),
    )
    .division(r.county)
    .actor(acting.actor.label());
    if let Some(u) = r.uscc {
        event = event.uscc(u);
    }
    events::append(tx, event).await?;
    audit::append(
        tx,
        &acting.actor,
        Change {
            action: "complaint.file",
            target_kind: "complaint",
            target_id: m.number.clone(),
            division: Some(r.county.to_string()),
            before: None,
            after: Some(json!({
                "kind": kind, "source": r.source, "uscc": r.uscc,
                "business_name": r.business_name, "odr": odr,
            })),
        },
    )
    .await?;
    Ok(())
}

/// [`record_known`] for a matter whose whole course is known when it is filed (the demo's
/// year of complaints; a ledger brought over from another system): the matter created and
/// taken through its first transition (a complaint's, to the business or the bureau) and
/// then `steps`, in one engine call (`Engine::create_with_course`); its complaint row
/// written once, as the course leaves it, with the columns of `later` (the ODR answer and
/// the money recovered, as the steps' mirrors would set them; the acceptance and close-out
/// columns are filled here); the counters and notices of the filing and of every step. The
/// rows are those of `record_known` followed by each step's engine call, mirrors and
/// follow-up (`crates/amr-server/tests/complaint_demo.rs` compares them), except that the
/// matter's events all come before the filing's. No evidence, no link; a duplicate is
/// refused before anything is written.
pub async fn record_course(
    tx: &mut amr_kernel::db::Tx,
    acting: &Acting,
    r: &Routed<'_>,
    today: NaiveDate,
    known: &mut Known,
    steps: &[CourseStep<'_>],
    mut later: store::Later,
) -> Result<(Matter, bool), FileError> {
    let intake = r.intake;
    let dup_key = r.dup_key();
    if let Some(number) = known.open.get(&dup_key) {
        return Err(FileError::Duplicate {
            number: number.clone(),
        });
    }
    let odr = intake.kind == IntakeKind::Complaint
        && r.uscc
            .and_then(|u| known.odr.get(u).copied())
            .unwrap_or(false);
    let first = if intake.kind == IntakeKind::Complaint {
        Some(if odr { "to_odr" } else { "to_bureau" })
    } else {
        None
    };
    let mut course: Vec<CourseStep<'_>> = Vec::with_capacity(steps.len() + 1);
    if let Some(t) = first {
        course.push(CourseStep {
            acting,
            transition: t,
            fields: BTreeMap::new(),
            day: today,
        });
    }
    course.extend_from_slice(steps);
    let ms = engine()
        .create_with_course(tx, acting, &new_matter(r), today, &course)
        .await?;
    let skip = usize::from(first.is_some());
    let (filed_m, last) = match (ms.get(skip), ms.last()) {
        (Some(f), Some(l)) => (f, l),
        _ => {
            return Err(AppError::Internal(anyhow::anyhow!("a course returned no matter")).into());
        }
    };
    followup::after_filing(tx, filed_m, first, today).await?;
    let after: Vec<(&Matter, &str, NaiveDate)> = ms[skip + 1..]
        .iter()
        .zip(steps)
        .map(|(m, s)| (m, s.transition, s.day))
        .collect();
    followup::after_course(tx, &after, today, &mut later).await?;
    store::insert_course(tx, filed_m, last, &new_row(r, &dup_key, odr, today), &later).await?;
    filed_records(tx, acting, r, filed_m, odr).await?;
    if last.closed_at.is_none() {
        known.open.insert(dup_key, last.number.clone());
    }
    Ok((last.clone(), odr))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn county(r: Result<String, FileError>) -> String {
        match r {
            Ok(c) => c,
            Err(e) => panic!("{}", e.message()),
        }
    }

    #[test]
    fn the_address_settles_the_county() {
        assert_eq!(
            county(route_address("济南市历下区泉城路188号", None)),
            "370102"
        );
        assert_eq!(
            county(route_address("济南市历下区泉城路188号", Some("370102"))),
            "370102"
        );
        // A pick that contradicts the address is refused.
        assert!(matches!(
            route_address("济南市历下区泉城路188号", Some("370103")),
            Err(FileError::App(AppError::BadRequest { .. }))
        ));
    }

    #[test]
    fn an_ambiguous_address_lists_the_candidates_and_takes_a_pick() {
        match route_address("朝阳区建国路1号", None) {
            Err(FileError::County {
                candidates,
                message,
            }) => {
                let codes: Vec<&str> = candidates.iter().map(|c| c.code.as_str()).collect();
                assert!(
                    codes.contains(&"110105") && codes.contains(&"220104"),
                    "{codes:?}"
                );
                assert!(message.contains("候选") && message.contains("candidates"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            county(route_address("朝阳区建国路1号", Some("110105"))),
            "110105"
        );
        // An address naming no division at all: no candidates, a county code is asked for.
        match route_address("人民路5号", None) {
            Err(FileError::County { candidates, .. }) => assert!(candidates.is_empty()),
            other => panic!("{other:?}"),
        }
        assert_eq!(county(route_address("人民路5号", Some("370102"))), "370102");
        // Only a county will do.
        assert!(route_address("人民路5号", Some("370102001")).is_err());
        assert!(route_address("人民路5号", Some("999999")).is_err());
        // A pick outside the city the address names is refused.
        assert!(route_address("济南市人民路5号", Some("370203")).is_err());
    }
}
