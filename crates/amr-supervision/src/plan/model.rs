//! What an officer sends to build a plan (forms and JSON, as text) and the rules that turn it
//! into the engine's [`Plan`] and [`Task`]: every bad field is a 400 naming it, Chinese first.
//! No IO here; the library checks (departments, items) are in `store`.

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize};

use amr_kernel::auth::Scope;
use amr_kernel::codes::division::Jurisdiction;
use amr_kernel::error::AppError;

use crate::draw::model::{DEFAULT_RATIOS, PLAN_FORMAT, Participant, PerClass, Plan, Task};

/// Plan states.
pub const DRAFT: &str = "draft";
pub const PUBLISHED: &str = "published";
pub const DRAWN: &str = "drawn";

/// Accepts a JSON string or number (or null) as text, so the API and the forms share one
/// input type.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s,
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    })
}

/// A plan's own fields, as text.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct PlanInput {
    #[serde(deserialize_with = "text")]
    pub name: String,
    #[serde(deserialize_with = "text")]
    pub period: String,
    #[serde(deserialize_with = "text")]
    pub scope: String,
    #[serde(deserialize_with = "text")]
    pub inspection_start: String,
    #[serde(deserialize_with = "text")]
    pub inspection_end: String,
    #[serde(deserialize_with = "text")]
    pub ratio_a: String,
    #[serde(deserialize_with = "text")]
    pub ratio_b: String,
    #[serde(deserialize_with = "text")]
    pub ratio_c: String,
    #[serde(deserialize_with = "text")]
    pub ratio_d: String,
    #[serde(deserialize_with = "text")]
    pub inspectors_per_department: String,
    #[serde(deserialize_with = "text")]
    pub workload_cap: String,
    #[serde(deserialize_with = "text")]
    pub public_value_source: String,
}

impl PlanInput {
    /// The input that shows a plan in the form.
    pub fn of(plan: &Plan) -> PlanInput {
        PlanInput {
            name: plan.name.clone(),
            period: plan.period.clone(),
            scope: plan.scope.clone(),
            inspection_start: plan.inspection_start.to_string(),
            inspection_end: plan.inspection_end.to_string(),
            ratio_a: plan.ratios.a.to_string(),
            ratio_b: plan.ratios.b.to_string(),
            ratio_c: plan.ratios.c.to_string(),
            ratio_d: plan.ratios.d.to_string(),
            inspectors_per_department: plan.inspectors_per_department.to_string(),
            workload_cap: plan.workload_cap.to_string(),
            public_value_source: plan.public_value_source.clone().unwrap_or_default(),
        }
    }

    /// A new plan's defaults within the officer's jurisdiction.
    pub fn defaults(scope: &str, today: NaiveDate) -> PlanInput {
        use chrono::Datelike;
        let year = today.year();
        PlanInput {
            name: String::new(),
            period: year.to_string(),
            scope: scope.to_string(),
            inspection_start: today.to_string(),
            inspection_end: NaiveDate::from_ymd_opt(year, 12, 31)
                .unwrap_or(today)
                .to_string(),
            ratio_a: DEFAULT_RATIOS.a.to_string(),
            ratio_b: DEFAULT_RATIOS.b.to_string(),
            ratio_c: DEFAULT_RATIOS.c.to_string(),
            ratio_d: DEFAULT_RATIOS.d.to_string(),
            inspectors_per_department: "2".into(),
            workload_cap: "50".into(),
            public_value_source: String::new(),
        }
    }

    /// The plan these fields describe, with `tasks`, within the officer's `scope`.
    pub fn to_plan(&self, officer: &Scope, tasks: Vec<Task>) -> Result<Plan, AppError> {
        let name = bounded("name", &self.name, 1, 100, "计划名称", "the plan's name")?;
        let period = parse_period(&self.period)?;
        let scope = parse_scope(officer, &self.scope)?;
        let start = parse_date("inspection_start", &self.inspection_start)?;
        let end = parse_date("inspection_end", &self.inspection_end)?;
        if end < start {
            return Err(AppError::bad_request(
                "inspection_end",
                "检查结束日期不得早于开始日期 (the inspections end on or after they start)",
            ));
        }
        let ratios = PerClass {
            a: parse_ratio("ratio_a", &self.ratio_a)?,
            b: parse_ratio("ratio_b", &self.ratio_b)?,
            c: parse_ratio("ratio_c", &self.ratio_c)?,
            d: parse_ratio("ratio_d", &self.ratio_d)?,
        };
        let per_department = parse_int(
            "inspectors_per_department",
            &self.inspectors_per_department,
            2,
            20,
            "每个部门每次检查的人数应为 2 到 20 (2 to 20 inspectors per department and visit)",
        )?;
        let cap = parse_int(
            "workload_cap",
            &self.workload_cap,
            1,
            100_000,
            "每名检查人员的检查上限应为 1 到 100000 (a workload cap of 1 to 100000 visits)",
        )?;
        let source = self.public_value_source.trim();
        if source.chars().count() > 300 {
            return Err(AppError::bad_request(
                "public_value_source",
                "公开随机值来源不超过 300 字 (at most 300 characters)",
            ));
        }
        Ok(Plan {
            format: PLAN_FORMAT.to_string(),
            name,
            period,
            scope,
            inspection_start: start,
            inspection_end: end,
            ratios,
            inspectors_per_department: per_department as u32,
            workload_cap: cap as u32,
            public_value_source: (!source.is_empty()).then(|| source.to_string()),
            tasks,
        })
    }
}

/// A task as text.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct TaskInput {
    /// Empty for a new task (the next `Tnn` is given).
    #[serde(deserialize_with = "text")]
    pub id: String,
    #[serde(deserialize_with = "text")]
    pub name: String,
    #[serde(deserialize_with = "text")]
    pub department: String,
    /// Item codes separated by commas, spaces or new lines.
    #[serde(deserialize_with = "text")]
    pub items: String,
    /// One joined department a line: `DEPT: ITEM, ITEM`.
    #[serde(deserialize_with = "text")]
    pub joined: String,
    #[serde(deserialize_with = "text")]
    pub population: String,
    /// `default` (the plan's ratios), `ratios` or `counts`.
    #[serde(deserialize_with = "text")]
    pub mode: String,
    #[serde(deserialize_with = "text")]
    pub a: String,
    #[serde(deserialize_with = "text")]
    pub b: String,
    #[serde(deserialize_with = "text")]
    pub c: String,
    #[serde(deserialize_with = "text")]
    pub d: String,
}

fn split_codes(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s
        .split(|c: char| c == ',' || c == '，' || c == '、' || c.is_whitespace())
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect();
    v.sort();
    v.dedup();
    v
}

fn code_ok(field: &str, code: &str) -> Result<(), AppError> {
    if code.len() > 40
        || !code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return Err(AppError::bad_request(
            field,
            format!(
                "代码 {code:?} 应为字母、数字、- _ . 组成，不超过 40 位 \
                 (a code is letters, digits, - _ . and at most 40 long)"
            ),
        ));
    }
    Ok(())
}

impl TaskInput {
    /// The input that shows a task in the form.
    pub fn of(t: &Task) -> TaskInput {
        let (mode, a, b, c, d) = match (&t.counts, &t.ratios) {
            (Some(n), _) => (
                "counts",
                n.a.to_string(),
                n.b.to_string(),
                n.c.to_string(),
                n.d.to_string(),
            ),
            (None, Some(r)) => (
                "ratios",
                r.a.to_string(),
                r.b.to_string(),
                r.c.to_string(),
                r.d.to_string(),
            ),
            (None, None) => (
                "default",
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ),
        };
        TaskInput {
            id: t.id.clone(),
            name: t.name.clone(),
            department: t.department.clone(),
            items: t.items.join(", "),
            joined: t
                .joined
                .iter()
                .map(|p| format!("{}: {}", p.department, p.items.join(", ")))
                .collect::<Vec<_>>()
                .join("\n"),
            population: t.population.clone(),
            mode: mode.to_string(),
            a,
            b,
            c,
            d,
        }
    }

    /// The task, with `id` when the input names none. Library checks come later.
    pub fn to_task(&self, id: String) -> Result<Task, AppError> {
        let name = bounded("name", &self.name, 1, 100, "任务名称", "the task's name")?;
        let department = self.department.trim().to_string();
        if department.is_empty() {
            return Err(AppError::bad_request(
                "department",
                "请选择牵头部门 (choose the lead department)",
            ));
        }
        code_ok("department", &department)?;
        let items = split_codes(&self.items);
        if items.is_empty() {
            return Err(AppError::bad_request(
                "items",
                "请至少填写一个抽查事项 (name at least one inspection item)",
            ));
        }
        for i in &items {
            code_ok("items", i)?;
        }
        let mut joined: Vec<Participant> = Vec::new();
        for line in self.joined.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (dept, codes) = line
                .split_once(':')
                .or_else(|| line.split_once('：'))
                .ok_or_else(|| {
                    AppError::bad_request(
                        "joined",
                        format!(
                            "联合部门应写作“部门代码: 事项代码, 事项代码”：{line:?} \
                             (a joined department is written DEPT: ITEM, ITEM)"
                        ),
                    )
                })?;
            let dept = dept.trim().to_string();
            code_ok("joined", &dept)?;
            let codes = split_codes(codes);
            if codes.is_empty() {
                return Err(AppError::bad_request(
                    "joined",
                    format!("联合部门 {dept} 未填写事项 (joined department {dept} names no item)"),
                ));
            }
            for i in &codes {
                code_ok("joined", i)?;
            }
            if dept == department || joined.iter().any(|p| p.department == dept) {
                return Err(AppError::bad_request(
                    "joined",
                    format!("部门 {dept} 重复 (department {dept} appears twice)"),
                ));
            }
            joined.push(Participant {
                department: dept,
                items: codes,
            });
        }
        // An empty population is every target of the scope.
        let population = match self.population.trim() {
            "" => "*".to_string(),
            p => p.to_string(),
        };
        if population.chars().count() > 500 {
            return Err(AppError::bad_request(
                "population",
                "抽查对象范围表达式不超过 500 字 (the population expression is at most 500 characters)",
            ));
        }
        let (ratios, counts) = match self.mode.trim() {
            "" | "default" => (None, None),
            "ratios" => (
                Some(PerClass {
                    a: parse_ratio("a", &self.a)?,
                    b: parse_ratio("b", &self.b)?,
                    c: parse_ratio("c", &self.c)?,
                    d: parse_ratio("d", &self.d)?,
                }),
                None,
            ),
            "counts" => {
                let n = |f: &str, s: &str| {
                    parse_int(
                        f,
                        s,
                        0,
                        100_000_000,
                        "抽查户数应为 0 到 100000000 的整数 (a count is a whole number 0 to 100000000)",
                    )
                };
                (
                    None,
                    Some(PerClass {
                        a: n("a", &self.a)?,
                        b: n("b", &self.b)?,
                        c: n("c", &self.c)?,
                        d: n("d", &self.d)?,
                    }),
                )
            }
            _ => {
                return Err(AppError::bad_request(
                    "mode",
                    "抽查方式应为 default、ratios 或 counts (the mode is default, ratios or counts)",
                ));
            }
        };
        Ok(Task {
            id,
            name,
            department,
            items,
            joined,
            population,
            ratios,
            counts,
        })
    }
}

/// The next free task id (`T01`, `T02`, …).
pub fn next_task_id(tasks: &[Task]) -> String {
    let mut n = tasks.len() + 1;
    loop {
        let id = format!("T{n:02}");
        if !tasks.iter().any(|t| t.id == id) {
            return id;
        }
        n += 1;
    }
}

fn bounded(
    field: &str,
    s: &str,
    min: usize,
    max: usize,
    zh: &str,
    en: &str,
) -> Result<String, AppError> {
    let s = s.trim();
    let n = s.chars().count();
    if n < min || n > max {
        return Err(AppError::bad_request(
            field,
            format!("{zh}应为 {min} 到 {max} 个字 ({en} is {min} to {max} characters)"),
        ));
    }
    Ok(s.to_string())
}

fn parse_period(s: &str) -> Result<String, AppError> {
    let s = s.trim();
    let ok = match s.len() {
        4 => s.bytes().all(|b| b.is_ascii_digit()),
        7 => {
            s[..4].bytes().all(|b| b.is_ascii_digit())
                && matches!(&s[4..], "-Q1" | "-Q2" | "-Q3" | "-Q4")
        }
        _ => false,
    };
    if !ok {
        return Err(AppError::bad_request(
            "period",
            "计划期间应为年度（2026）或季度（2026-Q4） (the period is a year, 2026, or a quarter, 2026-Q4)",
        ));
    }
    Ok(s.to_string())
}

/// The plan's scope: a division in the table, within the officer's jurisdiction.
pub fn parse_scope(officer: &Scope, s: &str) -> Result<String, AppError> {
    let j = Jurisdiction::parse(s).map_err(|e| {
        AppError::bad_request(
            "scope",
            format!("计划范围应为行政区划代码 (the scope is a division code): {e}"),
        )
    })?;
    let prefix = j.prefix().to_string();
    if !officer.covers(&prefix) {
        return Err(AppError::bad_request(
            "scope",
            "计划范围应在您的辖区之内 (the scope must lie within your jurisdiction)",
        ));
    }
    Ok(prefix)
}

fn parse_date(field: &str, s: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        AppError::bad_request(
            field,
            "日期格式应为 YYYY-MM-DD (a date is written YYYY-MM-DD)",
        )
    })
}

fn parse_ratio(field: &str, s: &str) -> Result<f64, AppError> {
    match s.trim().parse::<f64>() {
        Ok(r) if r.is_finite() && (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(AppError::bad_request(
            field,
            "抽查比例应在 0 到 1 之间 (a ratio is between 0 and 1)",
        )),
    }
}

fn parse_int(field: &str, s: &str, min: u64, max: u64, msg: &str) -> Result<u64, AppError> {
    match s.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(AppError::bad_request(field, msg)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> PlanInput {
        PlanInput {
            name: "2026 年度双随机抽查".into(),
            ..PlanInput::defaults("3701", NaiveDate::from_ymd_opt(2026, 3, 1).unwrap())
        }
    }

    fn field(e: AppError) -> String {
        match e {
            AppError::BadRequest { field, message } => {
                assert!(
                    message.contains('('),
                    "Chinese first, English after: {message}"
                );
                field
            }
            other => panic!("expected a bad request, got {other:?}"),
        }
    }

    #[test]
    fn a_good_input_becomes_a_plan_with_the_default_ratios() {
        let p = input().to_plan(&Scope::prefix("37"), vec![]).unwrap();
        assert_eq!(p.scope, "3701");
        assert_eq!(p.ratios, DEFAULT_RATIOS);
        assert_eq!(p.format, PLAN_FORMAT);
        assert_eq!(p.public_value_source, None);
    }

    #[test]
    fn bad_fields_are_named() {
        let officer = Scope::prefix("3701");
        type Change = Box<dyn Fn(&mut PlanInput)>;
        let cases: Vec<(&str, Change)> = vec![
            ("name", Box::new(|i| i.name = " ".into())),
            ("period", Box::new(|i| i.period = "2026-Q5".into())),
            ("scope", Box::new(|i| i.scope = "3702".into())),
            ("scope", Box::new(|i| i.scope = "37".into())),
            ("scope", Box::new(|i| i.scope = "12x".into())),
            (
                "inspection_start",
                Box::new(|i| i.inspection_start = "2026/1/1".into()),
            ),
            (
                "inspection_end",
                Box::new(|i| i.inspection_end = "2025-01-01".into()),
            ),
            ("ratio_b", Box::new(|i| i.ratio_b = "1.5".into())),
            ("ratio_c", Box::new(|i| i.ratio_c = "NaN".into())),
            (
                "inspectors_per_department",
                Box::new(|i| i.inspectors_per_department = "1".into()),
            ),
            ("workload_cap", Box::new(|i| i.workload_cap = "0".into())),
        ];
        for (want, change) in cases {
            let mut i = input();
            change(&mut i);
            assert_eq!(field(i.to_plan(&officer, vec![]).unwrap_err()), want);
        }
    }

    #[test]
    fn tasks_parse_items_joined_departments_and_modes() {
        let t = TaskInput {
            name: "食品经营抽查".into(),
            department: "D01".into(),
            items: "I002, I001 I001".into(),
            joined: "D02: I010、I011\nD03：I020".into(),
            population: "industry:H".into(),
            mode: "counts".into(),
            a: "1".into(),
            b: "2".into(),
            c: "3".into(),
            d: "4".into(),
            ..TaskInput::default()
        }
        .to_task("T01".into())
        .unwrap();
        assert_eq!(t.items, vec!["I001", "I002"]);
        assert_eq!(t.joined.len(), 2);
        assert_eq!(t.joined[0].items, vec!["I010", "I011"]);
        assert_eq!(t.joined[1].department, "D03");
        assert_eq!(t.counts.unwrap().d, 4);
        assert!(t.ratios.is_none());
        let back = TaskInput::of(&t).to_task("T01".into()).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn bad_tasks_are_refused() {
        let base = TaskInput {
            name: "x".into(),
            department: "D01".into(),
            items: "I1".into(),
            ..TaskInput::default()
        };
        let mut t = base.clone();
        t.items = " ".into();
        assert_eq!(field(t.to_task("T01".into()).unwrap_err()), "items");
        let mut t = base.clone();
        t.joined = "D01: I2".into();
        assert_eq!(field(t.to_task("T01".into()).unwrap_err()), "joined");
        let mut t = base.clone();
        t.joined = "D02 I2".into();
        assert_eq!(field(t.to_task("T01".into()).unwrap_err()), "joined");
        let mut t = base.clone();
        t.mode = "ratios".into();
        t.a = "2".into();
        assert_eq!(field(t.to_task("T01".into()).unwrap_err()), "a");
        let mut t = base.clone();
        t.department = "D'01".into();
        assert_eq!(field(t.to_task("T01".into()).unwrap_err()), "department");
        let mut t = base;
        t.mode = "some".into();
        assert_eq!(field(t.to_task("T01".into()).unwrap_err()), "mode");
    }

    #[test]
    fn task_ids_are_the_next_free_number() {
        let t = |id: &str| Task {
            id: id.into(),
            name: "x".into(),
            department: "D".into(),
            items: vec!["I".into()],
            joined: vec![],
            population: String::new(),
            ratios: None,
            counts: None,
        };
        assert_eq!(next_task_id(&[]), "T01");
        assert_eq!(next_task_id(&[t("T02")]), "T03");
        assert_eq!(next_task_id(&[t("T01"), t("T03")]), "T04");
    }
}
