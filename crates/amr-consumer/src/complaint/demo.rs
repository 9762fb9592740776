//! A year of complaints, reports and requests for help for the demo (the article's
//! 1,648,100 a year), in transactions of `batch` matters, streaming (nothing held but the
//! sample of businesses and the batch in hand). Deterministic for a seed.
//!
//! Each matter's course (who files what about whom, which transitions follow on which
//! days) is drawn first; then it is written one of two ways ([`Mode`]):
//! - [`Mode::Course`] (the default): the whole course in one call of the intake's
//!   [`flow::intake::record_course`] (the kernel's `Engine::create_with_course`), in a
//!   transaction that holds its rows back and writes them as multi-row statements;
//! - [`Mode::Stepwise`]: through the public intake's recording code
//!   ([`flow::intake::record_known`]) and then each transition as the officers' and the
//!   businesses' actions take it (the engine's `act`, the row's mirrors, the follow-up), one
//!   call at a time. It is the reference the course is tested against
//!   (`crates/amr-server/tests/complaint_demo.rs`): the same rows, about ten times slower.
//!
//! The shape (this deployment's assumptions, not figures from the article): 90 % complaints,
//! 6 % reports, 4 % requests for help; filing days uniform over the year; businesses drawn
//! with a skew (a few draw many complaints); complaints about ODR participants go to the
//! business first, which settles 60 % of them within 3 working days and refuses the rest;
//! the bureau declines 5 %, accepts the others within 1–7 working days and closes them
//! within 3–40 more (70 % mediated with ¥50–3,000 recovered, 20 % no agreement, 10 %
//! withdrawn); 1 % of accepted complaints are left open (they show up as overdue).

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};

use amr_kernel::audit::Actor;
use amr_kernel::auth::{Role, Scope};
use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::matter::{ActInput, Acting, Matter};

use amr_kernel::matter::CourseStep;

use super::flow::intake::{FileError, Known, Routed, county_of, record_course, record_known};
use super::model::{BusinessRef, Intake, IntakeKind};
use super::{Business, BusinessDirectory, category, engine, followup, model, store};

/// What to generate.
#[derive(Debug, Clone)]
pub struct DemoSpec {
    pub count: u64,
    pub year: i32,
    pub seed: u64,
    /// Matters per transaction.
    pub batch: usize,
    pub mode: Mode,
}

/// How the matters are written (see the module's documentation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Course,
    Stepwise,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct DemoReport {
    pub generated: u64,
    pub businesses: usize,
    pub elapsed: std::time::Duration,
}

/// SplitMix64: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn percent(&mut self) -> u64 {
        self.below(100)
    }
}

const NAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"];
const GOODS: &[&str] = &[
    "电热水壶",
    "空调",
    "手机",
    "羽绒服",
    "预付卡",
    "装修服务",
    "培训课程",
    "电动车",
];

fn officer() -> Acting {
    let mut a = Acting::system();
    a.actor = Actor {
        kind: "system",
        id: None,
        name: "demo-officer".into(),
        ip: None,
    };
    a.role = Some(Role::Officer);
    a.scope = Scope::all();
    a
}

fn business(uscc: &str) -> Acting {
    let mut a = Acting::system();
    a.actor = Actor {
        kind: "system",
        id: None,
        name: "demo-business".into(),
        ip: None,
    };
    a.role = Some(Role::Enterprise);
    a.scope = Scope::none();
    a.uscc = Some(uscc.to_string());
    a
}

fn wd(day: NaiveDate, n: u64) -> Result<NaiveDate, AppError> {
    engine()
        .calendar()
        .add_working_days(day, n as u32)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))
}

/// One transition with its mirrors, as the flows take it.
async fn step(
    tx: &mut Tx,
    acting: &Acting,
    m: &Matter,
    transition: &str,
    fields: &[(&str, String)],
    day: NaiveDate,
) -> Result<Matter, AppError> {
    let fields: BTreeMap<String, String> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let amount = fields.get("amount").cloned();
    let next = engine()
        .act(
            tx,
            acting,
            &m.number,
            &ActInput {
                transition: transition.into(),
                version: m.version,
                fields,
            },
            day,
        )
        .await?;
    store::sync(tx, &next).await?;
    match transition {
        "odr_settle" => {
            let fen = model::parse_yuan("amount", amount.as_deref().unwrap_or("0"))?;
            store::set_odr_result(
                tx,
                &next.number,
                "settled",
                day,
                Some("退款并补偿"),
                Some(fen),
            )
            .await?;
        }
        "odr_refuse" => store::set_odr_result(tx, &next.number, "refused", day, None, None).await?,
        "close" => {
            let fen = model::parse_yuan("amount", amount.as_deref().unwrap_or("0"))?;
            store::set_recovered(tx, &next.number, Some(fen)).await?;
        }
        _ => {}
    }
    followup::after_act(tx, &next, transition, day).await?;
    Ok(next)
}

fn money(rng: &mut Rng) -> String {
    model::yuan(5_000 + rng.below(295_000) as i64)
}

/// Who takes a planned transition.
#[derive(Debug, Clone, Copy)]
enum By {
    Officer,
    Business,
}

/// A transition of a matter's course, drawn before anything is written.
#[derive(Debug, Clone)]
struct Planned {
    by: By,
    transition: &'static str,
    fields: Vec<(&'static str, String)>,
    day: NaiveDate,
}

impl Planned {
    fn new(
        by: By,
        transition: &'static str,
        fields: &[(&'static str, String)],
        day: NaiveDate,
    ) -> Planned {
        Planned {
            by,
            transition,
            fields: fields.to_vec(),
            day,
        }
    }

    fn fields(&self) -> BTreeMap<String, String> {
        self.fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }
}

/// A matter drawn: its business, filing day and intake.
struct Draft<'s> {
    business: &'s Business,
    county: &'static str,
    filed: NaiveDate,
    intake: Intake,
}

/// Draws matter `i`'s intake.
fn draw_intake<'s>(rng: &mut Rng, i: u64, b: &'s Business, filed: NaiveDate) -> Option<Draft<'s>> {
    let kind = match rng.percent() {
        0..=89 => IntakeKind::Complaint,
        90..=95 => IntakeKind::Report,
        _ => IntakeKind::Help,
    };
    let county = county_of(&b.division)?;
    let good = GOODS[rng.below(GOODS.len() as u64) as usize];
    let cat = category::CATEGORIES[rng.below(category::CATEGORIES.len() as u64) as usize].code;
    let intake = Intake {
        kind,
        name: format!("{}某{}", NAMES[rng.below(10) as usize], i % 1000),
        phone: format!("13{:09}", i % 1_000_000_000),
        business: BusinessRef::Registered(b.uscc.clone()),
        typed_business_name: String::new(),
        county: None,
        purchase: format!("{good}一件"),
        purchase_date: Some(filed - Duration::days(rng.below(30) as i64)),
        amount_fen: Some(1_000 + rng.below(500_000) as i64),
        facts: format!("示范数据第 {i} 件：购买的{good}存在质量问题，经营者拒绝按约定退换。"),
        claim: "退货退款".into(),
        category: Some(cat),
    };
    Some(Draft {
        business: b,
        county,
        filed,
        intake,
    })
}

/// Draws the course of a filed matter, as far as the shape says.
fn draw_course(
    rng: &mut Rng,
    kind: IntakeKind,
    odr: bool,
    filed: NaiveDate,
) -> Result<Vec<Planned>, AppError> {
    let mut out = Vec::new();
    match kind {
        IntakeKind::Report => {
            let d = wd(filed, 1 + rng.below(5))?;
            out.push(Planned::new(By::Officer, "check", &[], d));
            let d = wd(d, 3 + rng.below(10))?;
            if rng.percent() < 30 {
                out.push(Planned::new(
                    By::Officer,
                    "open_case",
                    &[
                        ("outcome", "case_opened".into()),
                        ("summary", "立案调查".into()),
                    ],
                    d,
                ));
            } else {
                out.push(Planned::new(
                    By::Officer,
                    "no_case",
                    &[
                        ("outcome", "not_opened".into()),
                        ("reason", "经核查不存在违法行为".into()),
                    ],
                    d,
                ));
            }
            return Ok(out);
        }
        IntakeKind::Help => {
            let d = wd(filed, 1 + rng.below(6))?;
            out.push(Planned::new(
                By::Officer,
                "answer",
                &[
                    ("outcome", "answered".into()),
                    ("summary", "已电话答复".into()),
                ],
                d,
            ));
            return Ok(out);
        }
        IntakeKind::Complaint => {}
    }
    let mut day = filed;
    if odr {
        day = wd(filed, 1 + rng.below(3))?;
        if rng.percent() < 60 {
            out.push(Planned::new(
                By::Business,
                "odr_settle",
                &[
                    ("outcome", "odr_settled".into()),
                    ("settlement", "退款并补偿".into()),
                    ("amount", money(rng)),
                ],
                day,
            ));
            return Ok(out);
        }
        out.push(Planned::new(
            By::Business,
            "odr_refuse",
            &[("reason", "不同意消费者诉求".into())],
            day,
        ));
    }
    if rng.percent() < 5 {
        let d = wd(day, 1 + rng.below(6))?;
        out.push(Planned::new(
            By::Officer,
            "decline",
            &[
                ("outcome", "declined".into()),
                ("ground", "handled_elsewhere".into()),
                ("reason", "已由消费者协会处理".into()),
            ],
            d,
        ));
        return Ok(out);
    }
    let accepted = wd(day, 1 + rng.below(7))?;
    out.push(Planned::new(By::Officer, "accept", &[], accepted));
    if rng.percent() == 0 {
        return Ok(out); // left open
    }
    let closed = wd(accepted, 3 + rng.below(38))?;
    let (outcome, amount) = match rng.percent() {
        0..=69 => ("mediated", money(rng)),
        70..=89 => ("no_agreement", "0".to_string()),
        _ => ("withdrawn", "0".to_string()),
    };
    out.push(Planned::new(
        By::Officer,
        "close",
        &[
            ("outcome", outcome.into()),
            ("summary", "示范数据办结".into()),
            ("amount", amount),
        ],
        closed,
    ));
    Ok(out)
}

/// What the course's transitions leave in the complaint's row (as [`step`]'s mirrors set it).
fn later_of(course: &[Planned]) -> Result<store::Later, AppError> {
    let mut later = store::Later::default();
    for p in course {
        let amount = p
            .fields
            .iter()
            .find(|(k, _)| *k == "amount")
            .map(|(_, v)| v.as_str());
        match p.transition {
            "odr_settle" => {
                later.odr_result = Some("settled");
                later.odr_answered_on = Some(p.day);
                later.settlement = Some("退款并补偿".into());
                later.settlement_fen = Some(model::parse_yuan("amount", amount.unwrap_or("0"))?);
            }
            "odr_refuse" => {
                later.odr_result = Some("refused");
                later.odr_answered_on = Some(p.day);
                later.settlement = None;
                later.settlement_fen = None;
            }
            "close" => {
                later.recovered_fen = Some(model::parse_yuan("amount", amount.unwrap_or("0"))?);
            }
            _ => {}
        }
    }
    Ok(later)
}

/// Writes one drawn matter and its course.
async fn write(
    tx: &mut Tx,
    mode: Mode,
    known: &mut Known,
    d: &Draft<'_>,
    course: &[Planned],
) -> Result<(), AppError> {
    let b = d.business;
    let routed = Routed {
        intake: &d.intake,
        uscc: Some(&b.uscc),
        business_name: &b.name,
        business_address: Some(&b.address),
        county: d.county,
        source: "demo",
        media_url: None,
    };
    let (off, firm) = (officer(), business(&b.uscc));
    let by = |p: &Planned| match p.by {
        By::Officer => &off,
        By::Business => &firm,
    };
    let system = Acting::system();
    let filed = match mode {
        Mode::Course => {
            let steps: Vec<CourseStep<'_>> = course
                .iter()
                .map(|p| CourseStep {
                    acting: by(p),
                    transition: p.transition,
                    fields: p.fields(),
                    day: p.day,
                })
                .collect();
            record_course(
                tx,
                &system,
                &routed,
                d.filed,
                known,
                &steps,
                later_of(course)?,
            )
            .await
            .map(|_| ())
        }
        Mode::Stepwise => match record_known(tx, &system, &routed, &[], d.filed, Some(known)).await
        {
            Ok((mut m, _)) => {
                for p in course {
                    m = step(tx, by(p), &m, p.transition, &p.fields, p.day).await?;
                }
                Ok(())
            }
            Err(e) => Err(e),
        },
    };
    match filed {
        Ok(()) => Ok(()),
        Err(FileError::App(e)) => Err(e),
        // Same seed run twice: the open duplicate is already there.
        Err(FileError::Duplicate { .. }) => Ok(()),
        Err(FileError::County { message, .. }) => Err(AppError::Internal(anyhow::anyhow!(message))),
    }
}

/// Generates `spec.count` matters about registered enterprises (a sample of up to 20,000
/// read from the registry), `progress` called after each batch with the total so far.
pub async fn generate(
    db: &Db,
    registry: &dyn BusinessDirectory,
    spec: &DemoSpec,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<DemoReport, AppError> {
    let started = std::time::Instant::now();
    let mut sample: Vec<Business> = Vec::new();
    let mut after: Option<String> = None;
    while sample.len() < 20_000 {
        let page = registry.enterprises(after.as_deref(), 5000).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.uscc.clone());
        let full = page.len() == 5000;
        sample.extend(
            page.into_iter()
                .filter(|b| b.active && county_of(&b.division).is_some()),
        );
        if !full {
            break;
        }
    }
    if sample.is_empty() {
        return Err(AppError::rejected(
            "登记系统中没有企业，请先生成示范省份 (no enterprises registered: generate the demo province first)",
        ));
    }
    let first = NaiveDate::from_ymd_opt(spec.year, 1, 1)
        .ok_or_else(|| AppError::bad_request("year", "年份无效 (bad year)"))?;
    let days = if NaiveDate::from_ymd_opt(spec.year, 2, 29).is_some() {
        366
    } else {
        365
    };
    let mut rng = Rng(spec.seed ^ 0x12315);
    let mut done = 0u64;
    while done < spec.count {
        let n = (spec.batch as u64).min(spec.count - done);
        let mut tx = db.begin().await?;
        if spec.mode == Mode::Course {
            tx.defer_appends();
        }
        let mut drafts = Vec::with_capacity(n as usize);
        for i in done..done + n {
            // Skewed draw: the square of a uniform number favours the first businesses.
            let u = rng.below(1 << 20) as f64 / f64::from(1u32 << 20);
            let b = &sample[((u * u) * sample.len() as f64) as usize % sample.len()];
            let filed = first + Duration::days(rng.below(days) as i64);
            drafts.extend(draw_intake(&mut rng, i, b, filed));
        }
        // The batch's open duplicates and ODR participants, read once.
        let keys: Vec<String> = drafts
            .iter()
            .map(|d| {
                model::dup_key(
                    d.intake.kind,
                    &d.intake.phone,
                    &d.business.uscc,
                    &d.intake.facts,
                )
            })
            .collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let mut usccs: Vec<&str> = drafts.iter().map(|d| d.business.uscc.as_str()).collect();
        usccs.sort_unstable();
        usccs.dedup();
        let mut known = Known {
            open: store::open_duplicates(&mut tx, &keys).await?,
            odr: store::odr_among(&mut tx, &usccs).await?,
        };
        for d in &drafts {
            let odr = d.intake.kind == IntakeKind::Complaint
                && known.odr.get(&d.business.uscc).copied().unwrap_or(false);
            let course = draw_course(&mut rng, d.intake.kind, odr, d.filed)?;
            write(&mut tx, spec.mode, &mut known, d, &course).await?;
        }
        tx.commit().await?;
        done += n;
        progress(done);
    }
    Ok(DemoReport {
        generated: done,
        businesses: sample.len(),
        elapsed: started.elapsed(),
    })
}
