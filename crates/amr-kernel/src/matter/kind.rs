//! How a kind of matter is declared: a const table ([`KindSpec`]) checked once by
//! [`Kind::new`] when the engine is built.
//!
//! See `docs/MATTERS.md` for a complete example and [`super::example`] for the one the tests
//! use.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::NaiveDate;
use serde::Serialize;

use super::number::valid_prefix;
use crate::audit::Actor;
use crate::auth::{Permission, Role, Scope};
use crate::error::AppError;

/// A name in Chinese and English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Label {
    pub zh: &'static str,
    pub en: &'static str,
}

/// A label: `label("已受理", "accepted")`.
pub const fn label(zh: &'static str, en: &'static str) -> Label {
    Label { zh, en }
}

/// One state of a kind.
#[derive(Debug, Clone, Copy)]
pub struct StateSpec {
    pub name: &'static str,
    pub label: Label,
    /// A terminal state is a close-out (销号): entering it needs an outcome and stops every
    /// clock; leaving it is a reopening and needs a reason.
    pub terminal: bool,
}

impl StateSpec {
    pub const fn open(name: &'static str, label: Label) -> StateSpec {
        StateSpec {
            name,
            label,
            terminal: false,
        }
    }

    pub const fn terminal(name: &'static str, label: Label) -> StateSpec {
        StateSpec {
            name,
            label,
            terminal: true,
        }
    }
}

/// A deadline in working days (`amr_kernel::calendar`).
#[derive(Debug, Clone, Copy)]
pub struct ClockSpec {
    pub name: &'static str,
    pub label: Label,
    /// The limit: the clock is due on the `working_days`-th working day after it starts.
    pub working_days: u32,
    /// An overdue clock is escalated one level up the jurisdiction on the first working day
    /// past its due date, and one level further every `escalate_every` working days after.
    pub escalate_every: u32,
}

/// What a transition does to a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockEffect {
    /// Starts the clock (a running or paused one is stopped first and started anew).
    Start(&'static str),
    /// Pauses a running clock (e.g. while goods are tested); nothing if it is not running.
    Pause(&'static str),
    /// Resumes a paused clock; its due date moves by the working days it was paused.
    Resume(&'static str),
    /// Stops a running or paused clock.
    Stop(&'static str),
}

impl ClockEffect {
    pub fn clock(self) -> &'static str {
        match self {
            ClockEffect::Start(c)
            | ClockEffect::Pause(c)
            | ClockEffect::Resume(c)
            | ClockEffect::Stop(c) => c,
        }
    }
}

/// A choice of a [`Field::Choice`].
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Choice {
    pub value: &'static str,
    pub label: Label,
}

pub const fn choice(value: &'static str, label: Label) -> Choice {
    Choice { value, label }
}

/// A field an action's input must carry.
#[derive(Debug, Clone, Copy)]
pub enum Field {
    /// Text of 1..=`max` characters (after trimming).
    Text {
        name: &'static str,
        label: Label,
        max: usize,
    },
    /// One of `choices` (by value).
    Choice {
        name: &'static str,
        label: Label,
        choices: &'static [Choice],
    },
    /// A date, `YYYY-MM-DD`.
    Date { name: &'static str, label: Label },
    /// A whole number in `min..=max` (amounts in fen, counts).
    Number {
        name: &'static str,
        label: Label,
        min: i64,
        max: i64,
    },
}

impl Field {
    pub fn name(&self) -> &'static str {
        match self {
            Field::Text { name, .. }
            | Field::Choice { name, .. }
            | Field::Date { name, .. }
            | Field::Number { name, .. } => name,
        }
    }

    pub fn label(&self) -> Label {
        match self {
            Field::Text { label, .. }
            | Field::Choice { label, .. }
            | Field::Date { label, .. }
            | Field::Number { label, .. } => *label,
        }
    }

    /// Checks one value; the error names the field.
    fn parse(&self, raw: &str) -> Result<serde_json::Value, AppError> {
        let v = raw.trim();
        let l = self.label();
        let name = self.name();
        if v.is_empty() {
            return Err(AppError::bad_request(
                name,
                format!("请填写{} (missing: {})", l.zh, l.en),
            ));
        }
        match self {
            Field::Text { max, .. } => {
                if v.chars().count() > *max
                    || v.chars().any(|c| c.is_control() && c != '\n' && c != '\r')
                {
                    return Err(AppError::bad_request(
                        name,
                        format!(
                            "{}不超过 {max} 字，且不含控制字符 ({} is at most {max} characters, without control characters)",
                            l.zh, l.en
                        ),
                    ));
                }
                Ok(serde_json::Value::String(v.to_string()))
            }
            Field::Choice { choices, .. } => {
                if choices.iter().any(|c| c.value == v) {
                    Ok(serde_json::Value::String(v.to_string()))
                } else {
                    let mut zh = String::new();
                    let mut en = String::new();
                    for (i, c) in choices.iter().enumerate() {
                        if i > 0 {
                            zh.push('、');
                            en.push_str(", ");
                        }
                        let _ = write!(zh, "{}（{}）", c.label.zh, c.value);
                        en.push_str(c.value);
                    }
                    Err(AppError::bad_request(
                        name,
                        format!("{}应为 {zh} 之一 ({} is one of {en})", l.zh, l.en),
                    ))
                }
            }
            Field::Date { .. } => NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map(|d| serde_json::Value::String(d.to_string()))
                .map_err(|_| {
                    AppError::bad_request(
                        name,
                        format!(
                            "{}应为日期，格式 YYYY-MM-DD ({} is a date, YYYY-MM-DD)",
                            l.zh, l.en
                        ),
                    )
                }),
            Field::Number { min, max, .. } => v
                .parse::<i64>()
                .ok()
                .filter(|n| (*min..=*max).contains(n))
                .map(serde_json::Value::from)
                .ok_or_else(|| {
                    AppError::bad_request(
                        name,
                        format!(
                            "{}应为 {min} 到 {max} 之间的整数 ({} is a whole number from {min} to {max})",
                            l.zh, l.en
                        ),
                    )
                }),
        }
    }
}

/// How the actor stands to the matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// The assigned account.
    Assignee,
    /// A member of the assigned unit (the account's department equals the matter's unit).
    AssigneeUnit,
    /// The account that created the matter.
    Creator,
    /// An enterprise account bound to the matter's USCC (the business concerned).
    Party,
    /// An officer or administrator whose jurisdiction holds the matter's division.
    InJurisdiction,
}

impl Relation {
    fn label(self) -> Label {
        match self {
            Relation::Assignee => label("承办人", "the assignee"),
            Relation::AssigneeUnit => label("承办单位人员", "a member of the assigned unit"),
            Relation::Creator => label("登记人", "the person who registered it"),
            Relation::Party => label("被涉及的经营者", "the business concerned"),
            Relation::InJurisdiction => label("本辖区人员", "someone of its jurisdiction"),
        }
    }
}

/// Who may take a transition (or create, transfer, write to a matter): a predicate over the
/// actor's role, permissions and relation to the matter, composable in const tables.
#[derive(Debug, Clone, Copy)]
pub enum Who {
    /// Anyone who can see the matter.
    Anyone,
    /// The system itself (sweeps, automatic moves), never a person.
    System,
    Role(Role),
    Permission(Permission),
    Is(Relation),
    AllOf(&'static [Who]),
    AnyOf(&'static [Who]),
}

/// An officer of the matter's jurisdiction: the usual rule.
pub const OFFICER_IN_JURISDICTION: Who =
    Who::AllOf(&[Who::Role(Role::Officer), Who::Is(Relation::InJurisdiction)]);

impl Who {
    /// Whether `acting` satisfies this rule for a matter of `facts`.
    pub fn allows(&self, acting: &Acting, facts: &MatterFacts<'_>) -> bool {
        match self {
            Who::Anyone => true,
            Who::System => acting.is_system(),
            Who::Role(r) => acting.role == Some(*r),
            Who::Permission(p) => acting.role.is_some_and(|r| r.can(*p)),
            Who::Is(rel) => acting.relation(*rel, facts),
            Who::AllOf(all) => all.iter().all(|w| w.allows(acting, facts)),
            Who::AnyOf(any) => any.iter().any(|w| w.allows(acting, facts)),
        }
    }

    /// The rule in words, Chinese and English.
    pub fn describe(&self) -> (String, String) {
        match self {
            Who::Anyone => (
                "任何可查看该事项的人".into(),
                "anyone who can see it".into(),
            ),
            Who::System => ("系统".into(), "the system".into()),
            Who::Role(r) => {
                let (zh, en) = match r {
                    Role::Admin => ("管理员", "an administrator"),
                    Role::Officer => ("执法人员", "an officer"),
                    Role::Enterprise => ("企业用户", "an enterprise user"),
                };
                (zh.into(), en.into())
            }
            Who::Permission(p) => (format!("具有 {} 权限的人员", p.key()), {
                format!("someone with the {} permission", p.key())
            }),
            Who::Is(rel) => {
                let l = rel.label();
                (l.zh.into(), l.en.into())
            }
            Who::AllOf(all) => join(all, "且", " and "),
            Who::AnyOf(any) => join(any, "或", " or "),
        }
    }
}

fn join(items: &[Who], zh_sep: &str, en_sep: &str) -> (String, String) {
    let parts: Vec<(String, String)> = items.iter().map(Who::describe).collect();
    (
        parts
            .iter()
            .map(|p| p.0.as_str())
            .collect::<Vec<_>>()
            .join(zh_sep),
        parts
            .iter()
            .map(|p| p.1.as_str())
            .collect::<Vec<_>>()
            .join(en_sep),
    )
}

/// One transition of a kind.
#[derive(Debug, Clone, Copy)]
pub struct TransitionSpec {
    pub name: &'static str,
    pub label: Label,
    /// The states it may be taken from.
    pub from: &'static [&'static str],
    pub to: &'static str,
    pub who: Who,
    /// Fields the action's input must carry. A transition into a terminal state requires a
    /// [`Field::Choice`] named `outcome`; one out of a terminal state (a reopening) requires a
    /// [`Field::Text`] named `reason`.
    pub requires: &'static [Field],
    pub clocks: &'static [ClockEffect],
    /// Whether its event is public (`kernel.matter.acted` on the public stream; the payload
    /// then holds no input fields and no people).
    pub public: bool,
}

impl TransitionSpec {
    /// A transition with no required fields, no clock effects, internal, for officers of the
    /// matter's jurisdiction: use with `..TransitionSpec::DEFAULT`.
    pub const DEFAULT: TransitionSpec = TransitionSpec {
        name: "",
        label: label("", ""),
        from: &[],
        to: "",
        who: OFFICER_IN_JURISDICTION,
        requires: &[],
        clocks: &[],
        public: false,
    };
}

/// Who may assign and transfer a matter, and whether a transfer may change its jurisdiction.
#[derive(Debug, Clone, Copy)]
pub struct TransferSpec {
    pub who: Who,
    /// Whether a transfer may move the matter to another division (e.g. to the competent
    /// bureau). The new division must exist in the division table.
    pub across_jurisdiction: bool,
}

/// A kind of matter, declared as a const table.
#[derive(Debug, Clone, Copy)]
pub struct KindSpec {
    /// A stable machine name (`ticket`); stored with every matter.
    pub name: &'static str,
    /// The number prefix: 2–4 upper-case letters, unique in the engine.
    pub prefix: &'static str,
    pub label: Label,
    pub states: &'static [StateSpec],
    pub initial: &'static str,
    pub transitions: &'static [TransitionSpec],
    pub clocks: &'static [ClockSpec],
    /// Clock effects at creation (usually `Start` of the first deadline).
    pub on_create: &'static [ClockEffect],
    /// Who may create a matter of this kind.
    pub create: Who,
    /// Who may add messages and attachments.
    pub write: Who,
    pub transfer: TransferSpec,
}

/// A kind checked by [`Kind::new`].
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    spec: &'static KindSpec,
}

impl Kind {
    /// Checks a declaration: every state, clock and field name it uses exists, names are
    /// unique, the initial state is not terminal, close-outs need an `outcome` choice and
    /// reopenings a `reason` text. Returns every problem found.
    pub fn new(spec: &'static KindSpec) -> Result<Kind, Vec<String>> {
        let mut problems = Vec::new();
        let k = spec.name;
        if spec.name.is_empty()
            || !spec
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            problems.push(format!(
                "kind {k:?}: the name is lower-case letters, digits and _"
            ));
        }
        if !valid_prefix(spec.prefix) {
            problems.push(format!(
                "kind {k}: prefix {:?} is not 2-4 upper-case letters",
                spec.prefix
            ));
        }
        let mut states = BTreeMap::new();
        for s in spec.states {
            if states.insert(s.name, s).is_some() {
                problems.push(format!("kind {k}: state {} declared twice", s.name));
            }
        }
        match states.get(spec.initial) {
            None => problems.push(format!(
                "kind {k}: initial state {} is not declared",
                spec.initial
            )),
            Some(s) if s.terminal => problems.push(format!(
                "kind {k}: the initial state {} is terminal",
                s.name
            )),
            Some(_) => {}
        }
        let mut clocks = BTreeMap::new();
        for c in spec.clocks {
            if clocks.insert(c.name, c).is_some() {
                problems.push(format!("kind {k}: clock {} declared twice", c.name));
            }
            if c.working_days == 0 || c.escalate_every == 0 {
                problems.push(format!(
                    "kind {k}: clock {} needs working_days and escalate_every of at least 1",
                    c.name
                ));
            }
        }
        let check_effects = |effects: &[ClockEffect], at: &str, problems: &mut Vec<String>| {
            for e in effects {
                if !clocks.contains_key(e.clock()) {
                    problems.push(format!(
                        "kind {k}: {at} uses undeclared clock {}",
                        e.clock()
                    ));
                }
            }
        };
        check_effects(spec.on_create, "on_create", &mut problems);
        let mut names = BTreeMap::new();
        for t in spec.transitions {
            let at = format!("transition {}", t.name);
            if t.name.is_empty() || names.insert(t.name, ()).is_some() {
                problems.push(format!("kind {k}: {at} is unnamed or declared twice"));
            }
            if t.from.is_empty() {
                problems.push(format!("kind {k}: {at} has no from state"));
            }
            let to = states.get(t.to);
            if to.is_none() {
                problems.push(format!("kind {k}: {at} goes to undeclared state {}", t.to));
            }
            let mut from_terminal = false;
            for f in t.from {
                match states.get(f) {
                    None => problems.push(format!("kind {k}: {at} leaves undeclared state {f}")),
                    Some(s) => from_terminal |= s.terminal,
                }
            }
            let mut fields = BTreeMap::new();
            for f in t.requires {
                if fields.insert(f.name(), f).is_some() {
                    problems.push(format!("kind {k}: {at} requires {} twice", f.name()));
                }
            }
            if to.is_some_and(|s| s.terminal)
                && !matches!(fields.get("outcome"), Some(Field::Choice { .. }))
            {
                problems.push(format!(
                    "kind {k}: {at} closes the matter and must require a Choice named outcome"
                ));
            }
            if from_terminal && !matches!(fields.get("reason"), Some(Field::Text { .. })) {
                problems.push(format!(
                    "kind {k}: {at} reopens the matter and must require a Text named reason"
                ));
            }
            if from_terminal && to.is_some_and(|s| s.terminal) {
                problems.push(format!(
                    "kind {k}: {at} goes from a terminal state to another"
                ));
            }
            check_effects(t.clocks, &at, &mut problems);
        }
        if problems.is_empty() {
            Ok(Kind { spec })
        } else {
            Err(problems)
        }
    }

    pub fn spec(&self) -> &'static KindSpec {
        self.spec
    }

    pub fn name(&self) -> &'static str {
        self.spec.name
    }

    pub fn prefix(&self) -> &'static str {
        self.spec.prefix
    }

    pub fn state(&self, name: &str) -> Option<&'static StateSpec> {
        self.spec.states.iter().find(|s| s.name == name)
    }

    pub fn clock(&self, name: &str) -> Option<&'static ClockSpec> {
        self.spec.clocks.iter().find(|c| c.name == name)
    }

    pub fn transition(&self, name: &str) -> Option<&'static TransitionSpec> {
        self.spec.transitions.iter().find(|t| t.name == name)
    }

    /// The label of an outcome value (from the `outcome` choices of the close-outs).
    pub fn outcome_label(&self, value: &str) -> Option<Label> {
        self.spec
            .transitions
            .iter()
            .flat_map(|t| t.requires.iter())
            .find_map(|f| match f {
                Field::Choice {
                    name: "outcome",
                    choices,
                    ..
                } => choices.iter().find(|c| c.value == value).map(|c| c.label),
                _ => None,
            })
    }

    /// The transitions that leave `state`, in declaration order.
    pub fn transitions_from(&self, state: &str) -> impl Iterator<Item = &'static TransitionSpec> {
        let state = state.to_string();
        self.spec
            .transitions
            .iter()
            .filter(move |t| t.from.contains(&state.as_str()))
    }

    /// Checks an action's input against a transition's required fields: every missing or bad
    /// field, and any field the transition does not take, is named. Returns the parsed values.
    pub fn check_fields(
        &self,
        t: &TransitionSpec,
        input: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, serde_json::Value>, AppError> {
        if let Some(extra) = input
            .keys()
            .find(|k| !t.requires.iter().any(|f| f.name() == k.as_str()))
        {
            return Err(AppError::bad_request(
                extra.as_str(),
                format!(
                    "“{}”不接受字段 {extra} (the action {} takes no field {extra})",
                    t.label.zh, t.name
                ),
            ));
        }
        let missing: Vec<&Field> = t
            .requires
            .iter()
            .filter(|f| input.get(f.name()).is_none_or(|v| v.trim().is_empty()))
            .collect();
        if let Some(first) = missing.first() {
            let zh: Vec<&str> = missing.iter().map(|f| f.label().zh).collect();
            let en: Vec<&str> = missing.iter().map(|f| f.label().en).collect();
            return Err(AppError::bad_request(
                first.name(),
                format!(
                    "“{}”须填写：{} (the action {} requires: {})",
                    t.label.zh,
                    zh.join("、"),
                    t.name,
                    en.join(", ")
                ),
            ));
        }
        let mut out = BTreeMap::new();
        for f in t.requires {
            let raw = input.get(f.name()).map(String::as_str).unwrap_or_default();
            out.insert(f.name().to_string(), f.parse(raw)?);
        }
        Ok(out)
    }
}

/// Who is acting: the person (or key, or the system) and what the engine needs to know of
/// them to apply a kind's rules and the jurisdiction filter.
#[derive(Debug, Clone)]
pub struct Acting {
    pub actor: Actor,
    /// `None` for the system.
    pub role: Option<Role>,
    pub scope: Scope,
    pub account: Option<i64>,
    /// The account's department (for [`Relation::AssigneeUnit`]).
    pub unit: Option<String>,
    /// The entity an enterprise account acts for (for [`Relation::Party`]).
    pub uscc: Option<String>,
}

impl Acting {
    /// The system itself: sees everything, matches [`Who::System`] only among roles.
    pub fn system() -> Acting {
        Acting {
            actor: Actor::system(),
            role: None,
            scope: Scope::all(),
            account: None,
            unit: None,
            uscc: None,
        }
    }

    /// A logged-in account, with the actor its writes are recorded under.
    pub fn account(account: &crate::auth::store::Account, ip: Option<String>) -> Acting {
        Acting {
            actor: Actor {
                kind: "account",
                id: Some(account.id),
                name: account.username.clone(),
                ip,
            },
            role: Some(account.role()),
            scope: account.scope(),
            account: Some(account.id),
            unit: account.department.clone().filter(|d| !d.is_empty()),
            uscc: account
                .uscc
                .clone()
                .filter(|_| account.role() == Role::Enterprise),
        }
    }

    pub fn is_system(&self) -> bool {
        self.role.is_none() && self.actor.kind == "system"
    }

    /// Whether this actor may see a matter of `facts` at all (the jurisdiction filter, or the
    /// business concerned).
    pub fn sees(&self, facts: &MatterFacts<'_>) -> bool {
        self.scope.contains(Some(facts.division)) || self.relation(Relation::Party, facts)
    }

    fn relation(&self, rel: Relation, f: &MatterFacts<'_>) -> bool {
        match rel {
            Relation::Assignee => self.account.is_some() && self.account == f.assignee_account,
            Relation::AssigneeUnit => {
                self.unit.is_some() && self.unit.as_deref() == f.assignee_unit
            }
            Relation::Creator => self.account.is_some() && self.account == f.created_by_account,
            Relation::Party => self.uscc.is_some() && self.uscc.as_deref() == f.uscc,
            Relation::InJurisdiction => {
                matches!(self.role, Some(Role::Officer | Role::Admin) | None)
                    && self.scope.contains(Some(f.division))
            }
        }
    }
}

/// What the rules look at in a matter.
#[derive(Debug, Clone, Copy)]
pub struct MatterFacts<'a> {
    pub division: &'a str,
    pub uscc: Option<&'a str>,
    pub assignee_account: Option<i64>,
    pub assignee_unit: Option<&'a str>,
    pub created_by_account: Option<i64>,
}

/// The refusal of an action the rule does not allow, naming who may take it.
pub(crate) fn not_allowed(what: Label, who: &Who) -> AppError {
    let (zh, en) = who.describe();
    AppError::Forbidden(format!(
        "“{}”只能由{zh}办理 ({} may only be done by {en})",
        what.zh, what.en
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_parse_their_values_and_name_what_is_wrong() {
        let date = Field::Date {
            name: "tested_on",
            label: label("检测日期", "test date"),
        };
        assert_eq!(date.parse(" 2026-10-09 ").unwrap(), "2026-10-09");
        let e = date.parse("2026-13-01").unwrap_err();
        assert!(matches!(e, AppError::BadRequest { ref field, .. } if field == "tested_on"));
        assert!(e.to_string().contains("检测日期应为日期"), "{e}");
        let amount = Field::Number {
            name: "recovered_fen",
            label: label("挽回金额（分）", "amount recovered, in fen"),
            min: 0,
            max: 1_000_000_000,
        };
        assert_eq!(amount.parse("30000").unwrap(), 30000);
        for bad in ["-1", "1.5", "1000000001", "abc"] {
            let e = amount.parse(bad).unwrap_err();
            assert!(e.to_string().contains("0 到 1000000000"), "{bad}: {e}");
        }
        let text = Field::Text {
            name: "note",
            label: label("说明", "note"),
            max: 4,
        };
        assert_eq!(text.parse(" 四个汉字 ").unwrap(), "四个汉字");
        assert!(text.parse("五个汉字啊").is_err());
        assert!(text.parse("a\u{0}b").is_err());
        assert!(
            text.parse("   ")
                .unwrap_err()
                .to_string()
                .contains("请填写说明")
        );
    }

    #[test]
    fn rules_are_described_in_both_languages() {
        let who = Who::AnyOf(&[
            Who::Is(Relation::Party),
            Who::AllOf(&[Who::Role(Role::Officer), Who::Is(Relation::Assignee)]),
        ]);
        let (zh, en) = who.describe();
        assert_eq!(zh, "被涉及的经营者或执法人员且承办人");
        assert_eq!(en, "the business concerned or an officer and the assignee");
    }
}
