//! The demo library: 40 departments (real Shandong provincial departments, with English
//! names), 130 inspection domains and 222 items (`data/library-demo.txt`, about a quarter on
//! the key list, default populations as tag expressions), and inspectors in every county of
//! the province for every department that inspects at county level.
//!
//! Deterministic from the demo seed: every choice is a SHA-256 of the seed and a label, so the
//! same seed gives the same inspectors on any machine. Departments, domains and items do not
//! depend on the seed (their codes are what `examples/inspection-plan.json` names).
//!
//! Inspectors, per department level (the file's `level`):
//! - `county`: 4–6 in every county-level division of the province (jurisdiction the county),
//!   2 per city (jurisdiction the city), 2 for the province;
//! - `city`: 4–7 per city, 3 for the province;
//! - `province`: 8–12 for the province.
//!
//! About 3 % of certificates expired in 2025, the rest run from March 2027 to 2031; 15 % of
//! the inspectors of departments with several domains lack one domain (partial
//! qualifications). In about one county in six one inspector declares a conflict of interest
//! with a real entity of that county (read through the [`RegistrySource`]).

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use amr_kernel::audit::{self, Actor};
use amr_kernel::codes::division::divisions;
use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};

use super::model::{DepartmentInput, Domain, NewInspector, NewItem};
use crate::targets::RegistrySource;

/// The demo's departments, domains and items.
pub const DEMO_DATA: &str = include_str!("../../data/library-demo.txt");

/// The lowest level at which a department sends inspectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Province,
    City,
    County,
}

/// The parsed demo list.
#[derive(Debug, Clone, Default)]
pub struct DemoList {
    pub departments: Vec<(DepartmentInput, Level)>,
    pub domains: Vec<Domain>,
    pub items: Vec<NewItem>,
}

/// Domain attributes that its items share.
struct DomainAttrs {
    target_type: String,
    method: String,
    frequency: String,
    population: String,
    legal_basis: String,
}

/// Parses `data/library-demo.txt` (format in its header).
pub fn demo_list() -> Result<DemoList, String> {
    let mut out = DemoList::default();
    let mut attrs: Option<DomainAttrs> = None;
    let mut item_no = 0u32;
    for (n, line) in DEMO_DATA.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // A domain's population may hold `|` (or): its legal basis is the last field.
        let mut p: Vec<&str> = line.splitn(7, '|').map(str::trim).collect();
        if p[0] == "F"
            && p.len() == 7
            && let Some((population, basis)) = p[6].rsplit_once('|')
        {
            p[6] = population.trim();
            p.push(basis.trim());
        }
        let err = || format!("library-demo.txt line {}: {line}", n + 1);
        match p[0] {
            "D" if p.len() == 5 => {
                let level = match p[4] {
                    "province" => Level::Province,
                    "city" => Level::City,
                    "county" => Level::County,
                    _ => return Err(err()),
                };
                out.departments.push((
                    DepartmentInput {
                        code: p[1].into(),
                        name: p[2].into(),
                        name_en: p[3].into(),
                    },
                    level,
                ));
                attrs = None;
            }
            "F" if p.len() == 8 => {
                let dept = out.departments.last().ok_or_else(err)?.0.code.clone();
                out.domains.push(Domain {
                    code: p[1].into(),
                    department: dept,
                    name: p[2].into(),
                });
                attrs = Some(DomainAttrs {
                    target_type: p[3].into(),
                    method: p[4].into(),
                    frequency: p[5].into(),
                    population: p[6].into(),
                    legal_basis: p[7].into(),
                });
                item_no = 0;
            }
            "I" | "K" if p.len() == 2 => {
                let a = attrs.as_ref().ok_or_else(err)?;
                let domain = out.domains.last().ok_or_else(err)?;
                item_no += 1;
                out.items.push(NewItem {
                    code: format!("{}-{item_no:02}", domain.code),
                    department: domain.department.clone(),
                    domain: domain.code.clone(),
                    name: p[1].into(),
                    legal_basis: a.legal_basis.clone(),
                    target_type: a.target_type.clone(),
                    method: a.method.clone(),
                    list: if p[0] == "K" { "key" } else { "general" }.into(),
                    population: a.population.clone(),
                    frequency: a.frequency.clone(),
                });
            }
            _ => return Err(err()),
        }
    }
    Ok(out)
}

/// A number from the seed and labels (the first 8 bytes of SHA-256, big-endian).
fn rnd(seed: u64, parts: &[&str]) -> u64 {
    let mut h = Sha256::new();
    h.update(b"amr-library-demo-v1");
    h.update(seed.to_be_bytes());
    for p in parts {
        h.update([0u8]);
        h.update(p.as_bytes());
    }
    let d = h.finalize();
    u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "高", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "田", "董", "袁", "潘", "于", "蒋", "蔡", "杜", "程", "苏", "魏", "吕", "丁", "任", "孔", "邢",
    "房", "颜", "孟", "秦", "姜", "崔", "毕", "鲁", "展", "乔", "亓", "隋",
];

const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "英", "华", "玉", "兰", "萍", "红", "鹏", "建", "林", "波", "宁",
    "斌", "浩", "凯", "辉", "亮", "健", "峰", "俊", "晨", "婷", "雪", "琳", "颖", "欣", "怡", "宇",
    "轩", "博", "文", "涵", "梓", "诺", "晴", "远", "志", "国", "庆", "春", "海", "燕", "新", "东",
    "光", "晓", "振", "鑫", "倩", "莉", "震", "鲁", "泉", "岱", "泰", "琦", "彬", "楠", "蕾", "荣",
];

fn person_name(seed: u64, id: &str) -> String {
    let r = rnd(seed, &["name", id]);
    let mut s = SURNAMES[(r % SURNAMES.len() as u64) as usize].to_string();
    s.push_str(GIVEN[((r >> 16) % GIVEN.len() as u64) as usize]);
    if (r >> 32) % 10 < 7 {
        s.push_str(GIVEN[((r >> 40) % GIVEN.len() as u64) as usize]);
    }
    s
}

/// The province's cities and county-level divisions (every county-level division, the
/// development zones included).
fn cities_and_counties(province: &str) -> Vec<(String, Vec<String>)> {
    divisions()
        .children(province)
        .map(|city| {
            let counties = divisions()
                .children(city.code)
                .map(|c| c.code.to_string())
                .collect();
            (city.code.to_string(), counties)
        })
        .collect()
}

/// The demo inspectors of `province` for the list, deterministic from `seed`, by id.
pub fn demo_inspectors(seed: u64, province: &str, list: &DemoList) -> Vec<NewInspector> {
    let valid_from = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap_or_default();
    let expired_from = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or_default();
    let places = cities_and_counties(province);
    let mut out = Vec::new();
    for (dept_no, (dept, level)) in list.departments.iter().enumerate() {
        let domains: Vec<String> = list
            .domains
            .iter()
            .filter(|d| d.department == dept.code)
            .map(|d| d.code.clone())
            .collect();
        let mut staff = |jurisdiction: &str, n: u64| {
            for k in 1..=n {
                let id = format!("{}-{jurisdiction}-{k:02}", dept.code);
                let r = rnd(seed, &["inspector", &id]);
                let mut qualifications = domains.clone();
                if qualifications.len() >= 2 && r % 100 < 15 {
                    qualifications.remove(((r >> 8) % qualifications.len() as u64) as usize);
                }
                let expiry = if (r >> 20) % 100 < 3 {
                    expired_from + chrono::Days::new((r >> 28) % 365)
                } else {
                    valid_from + chrono::Days::new((r >> 28) % (4 * 365))
                };
                out.push(NewInspector {
                    certificate_no: format!("鲁{:02}{jurisdiction:0<6}{k:02}", dept_no + 1),
                    name: person_name(seed, &id),
                    id,
                    department: dept.code.clone(),
                    jurisdiction: jurisdiction.to_string(),
                    qualifications,
                    certificate_expiry: expiry,
                });
            }
        };
        let extra = |label: &str, m: u64| rnd(seed, &["count", &dept.code, label]) % m;
        match level {
            Level::County => {
                staff(province, 2);
                for (city, counties) in &places {
                    staff(city, 2);
                    for county in counties {
                        staff(county, 4 + extra(county, 3));
                    }
                }
            }
            Level::City => {
                staff(province, 3);
                for (city, _) in &places {
                    staff(city, 4 + extra(city, 4));
                }
            }
            Level::Province => staff(province, 8 + extra(province, 5)),
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

const CONFLICT_REASONS: &[&str] = &[
    "近亲属在该主体任职",
    "本人曾在该主体任职，离职未满三年",
    "与该主体负责人有其他利害关系",
];

/// What the demo step did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DemoSummary {
    /// `false`: the library already held departments and nothing was written.
    pub seeded: bool,
    pub departments: usize,
    pub domains: usize,
    pub items: usize,
    pub key_items: usize,
    pub inspectors: usize,
    pub counties: usize,
    pub conflicts: usize,
    pub elapsed: Duration,
}

impl std::fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.seeded {
            return write!(
                f,
                "一单两库已存在，未改动 (the inspection library exists; left as it is)"
            );
        }
        write!(
            f,
            "一单两库 (inspection library): 部门 {} (departments), 领域 {} (domains), 事项 {} (items, 重点 key {}), \
             执法检查人员 {} (inspectors) in {} 个县级区划 (counties), 回避 {} (conflicts), {:.1} s",
            self.departments,
            self.domains,
            self.items,
            self.key_items,
            self.inspectors,
            self.counties,
            self.conflicts,
            self.elapsed.as_secs_f64()
        )
    }
}

/// Fills an empty library with the demo list and inspectors of `province`, in one
/// transaction with one audit entry and one internal event (`supervision.library.demo_seeded`).
/// A library that already has departments is left alone. `progress(done, total)`.
pub async fn seed(
    db: &Db,
    actor: &Actor,
    registry: &dyn RegistrySource,
    seed: u64,
    province: &str,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<DemoSummary, AppError> {
    let started = Instant::now();
    let list = demo_list().map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    if !super::store::is_empty(db).await? {
        return Ok(DemoSummary {
            seeded: false,
            departments: 0,
            domains: 0,
            items: 0,
            key_items: 0,
            inspectors: 0,
            counties: 0,
            conflicts: 0,
            elapsed: started.elapsed(),
        });
    }
    let inspectors = demo_inspectors(seed, province, &list);
    let places = cities_and_counties(province);
    let counties: Vec<&String> = places.iter().flat_map(|(_, c)| c).collect();
    // Conflicts with real entities: about one county in six.
    let mut conflicts = Vec::new();
    for county in &counties {
        let r = rnd(seed, &["conflict", county]);
        if !r.is_multiple_of(6) {
            continue;
        }
        let county_depts: Vec<&str> = list
            .departments
            .iter()
            .filter(|(_, l)| *l == Level::County)
            .map(|(d, _)| d.code.as_str())
            .collect();
        let Some(dept) = county_depts.get(((r >> 8) % county_depts.len().max(1) as u64) as usize)
        else {
            continue;
        };
        let entities = registry.page(county, None, 50).await?;
        if entities.is_empty() {
            continue;
        }
        let e = &entities[((r >> 16) % entities.len() as u64) as usize];
        let id = format!("{dept}-{county}-01");
        if inspectors.binary_search_by(|i| i.id.cmp(&id)).is_ok() {
            let reason = CONFLICT_REASONS[((r >> 24) % CONFLICT_REASONS.len() as u64) as usize];
            conflicts.push((id, e.uscc.clone(), reason.to_string()));
        }
    }
    let departments: Vec<DepartmentInput> =
        list.departments.iter().map(|(d, _)| d.clone()).collect();
    let mut tx = db.begin().await?;
    super::store::insert_bulk(
        &mut tx,
        &departments,
        &list.domains,
        &list.items,
        &inspectors,
        &conflicts,
        progress,
    )
    .await?;
    let summary = DemoSummary {
        seeded: true,
        departments: departments.len(),
        domains: list.domains.len(),
        items: list.items.len(),
        key_items: list.items.iter().filter(|i| i.list == "key").count(),
        inspectors: inspectors.len(),
        counties: counties.len(),
        conflicts: conflicts.len(),
        elapsed: Duration::ZERO,
    };
    let facts = json!({
        "seed": seed, "province": province, "departments": summary.departments,
        "domains": summary.domains, "items": summary.items, "key_items": summary.key_items,
        "inspectors": summary.inspectors, "conflicts": summary.conflicts,
    });
    events::append(
        &mut tx,
        NewEvent::internal("supervision.library.demo_seeded", facts.clone()).actor(actor.label()),
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        audit::Change {
            action: "inspection.library.demo",
            target_kind: "insp_library",
            target_id: province.to_string(),
            division: Some(province.to_string()),
            before: None,
            after: Some(facts),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(DemoSummary {
        elapsed: started.elapsed(),
        ..summary
    })
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;
    use crate::library::model::{ItemInput, check_population};

    #[test]
    fn the_demo_list_has_the_articles_proportions() {
        let l = demo_list().unwrap();
        assert_eq!(l.departments.len(), 40);
        assert_eq!(l.domains.len(), 130);
        assert_eq!(l.items.len(), 222);
        let key = l.items.iter().filter(|i| i.list == "key").count();
        assert!(
            (45..=67).contains(&key),
            "about a quarter on the key list: {key}"
        );
        let depts: HashSet<&str> = l.departments.iter().map(|(d, _)| d.code.as_str()).collect();
        assert_eq!(depts.len(), 40);
        let domains: HashMap<&str, &str> = l
            .domains
            .iter()
            .map(|d| (d.code.as_str(), d.department.as_str()))
            .collect();
        assert_eq!(domains.len(), 130);
        let mut codes = HashSet::new();
        for i in &l.items {
            assert!(codes.insert(i.code.clone()), "duplicate {}", i.code);
            assert_eq!(domains[i.domain.as_str()], i.department);
            // Every item passes the same checks as an imported one.
            let input = ItemInput {
                code: i.code.clone(),
                department: i.department.clone(),
                domain: i.domain.clone(),
                name: i.name.clone(),
                legal_basis: i.legal_basis.clone(),
                target_type: i.target_type.clone(),
                method: i.method.clone(),
                list: i.list.clone(),
                population: i.population.clone(),
                frequency: i.frequency.clone(),
                ..ItemInput::default()
            };
            assert_eq!(input.validate().as_ref(), Ok(i), "{}", i.code);
            assert!(check_population(&i.population).is_ok(), "{}", i.population);
            assert!(i.legal_basis.starts_with('《'), "{}", i.legal_basis);
        }
        for (d, _) in &l.departments {
            assert!(d.validate().is_ok(), "{}", d.code);
            assert!(
                l.domains.iter().any(|f| f.department == d.code),
                "{}",
                d.code
            );
        }
    }

    #[test]
    fn demo_inspectors_cover_every_county_and_are_deterministic() {
        let l = demo_list().unwrap();
        let a = demo_inspectors(1, "37", &l);
        assert_eq!(a, demo_inspectors(1, "37", &l));
        assert_ne!(a, demo_inspectors(2, "37", &l));
        let county_depts: Vec<&str> = l
            .departments
            .iter()
            .filter(|(_, lv)| *lv == Level::County)
            .map(|(d, _)| d.code.as_str())
            .collect();
        assert!(county_depts.len() >= 15, "{}", county_depts.len());
        let places = cities_and_counties("37");
        let counties: Vec<&String> = places.iter().flat_map(|(_, c)| c).collect();
        assert!(counties.len() > 130, "{}", counties.len());
        let mut per: HashMap<(&str, &str), usize> = HashMap::new();
        for i in &a {
            per.entry((i.department.as_str(), i.jurisdiction.as_str()))
                .and_modify(|n| *n += 1)
                .or_insert(1);
        }
        for d in &county_depts {
            for c in &counties {
                let n = per.get(&(*d, c.as_str())).copied().unwrap_or(0);
                assert!((4..=6).contains(&n), "{d} in {c}: {n}");
            }
        }
        let expired = a
            .iter()
            .filter(|i| i.certificate_expiry < NaiveDate::from_ymd_opt(2026, 1, 1).unwrap())
            .count();
        assert!(
            expired > 0 && expired * 100 < a.len() * 6,
            "{expired} of {}",
            a.len()
        );
        let partial = a
            .iter()
            .filter(|i| {
                i.qualifications.len()
                    < l.domains
                        .iter()
                        .filter(|d| d.department == i.department)
                        .count()
            })
            .count();
        assert!(partial > 0 && partial * 100 < a.len() * 25, "{partial}");
        let ids: HashSet<&str> = a.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids.len(), a.len());
        for i in &a {
            let input = crate::library::model::InspectorInput {
                id: i.id.clone(),
                department: i.department.clone(),
                name: i.name.clone(),
                jurisdiction: i.jurisdiction.clone(),
                qualifications: i.qualifications.join(","),
                certificate_no: i.certificate_no.clone(),
                certificate_expiry: i.certificate_expiry.to_string(),
            };
            assert_eq!(input.validate().as_ref(), Ok(i));
        }
    }

    #[test]
    fn the_example_plan_names_demo_departments_and_their_items() {
        let text = include_str!("../../../../examples/inspection-plan.json");
        let plan: crate::draw::model::Plan = serde_json::from_str(text).unwrap();
        assert_eq!(plan.format, crate::draw::model::PLAN_FORMAT);
        let l = demo_list().unwrap();
        let items: HashMap<&str, &NewItem> = l.items.iter().map(|i| (i.code.as_str(), i)).collect();
        let mut departments = HashSet::new();
        assert!(plan.tasks.len() >= 6, "{}", plan.tasks.len());
        for t in &plan.tasks {
            assert!(check_population(&t.population).is_ok(), "{}", t.population);
            let mut parts = vec![(t.department.as_str(), &t.items)];
            parts.extend(t.joined.iter().map(|p| (p.department.as_str(), &p.items)));
            for (dept, its) in parts {
                assert!(l.departments.iter().any(|(d, _)| d.code == dept), "{dept}");
                // Every department of the plan inspects at county level, so each county has
                // inspectors to send.
                assert!(
                    l.departments
                        .iter()
                        .any(|(d, lv)| d.code == dept && *lv == Level::County)
                );
                departments.insert(dept);
                assert!(!its.is_empty());
                for i in its {
                    assert_eq!(items[i.as_str()].department, dept, "{i}");
                }
            }
        }
        assert!(departments.len() >= 5, "{departments:?}");
    }
}
