//! The three matter kinds of consumer intake, declared for the kernel's matter engine
//! (`docs/MATTERS.md`), with the limits of SAMR Order 20 (市场监督管理投诉举报处理暂行办法,
//! rev. 2022; `DOMAIN.md` §6):
//!
//! - [`COMPLAINT`] (投诉, prefix `TS`): filed → with the business in ODR (10 working days,
//!   12315 ODR) or received by the county bureau; accepted or declined within 7 working days
//!   (art. 14); mediation ends within 45 working days of acceptance (art. 16–21), testing time
//!   not counted (the `testing` state pauses the clock).
//! - [`REPORT`] (举报, prefix `JB`): a lead checked within 15 working days (art. 23; the
//!   extension by 15 more is not modelled), then a decision to open a case or not; the
//!   real-name reporter sees the decision on the tracking page as soon as it is taken, inside
//!   the 5 working days of art. 31.
//! - [`HELP`] (咨询求助, prefix `ZX`): answered within 7 working days — a working target of
//!   this deployment, Order 20 sets none.
//!
//! Clocks count working days in the engine's calendar (China's holidays and make-up days).

use amr_kernel::matter::{
    ClockEffect, ClockSpec, Field, KindSpec, OFFICER_IN_JURISDICTION, Relation, StateSpec,
    TransferSpec, TransitionSpec, Who, choice, label,
};

const REASON: Field = Field::Text {
    name: "reason",
    label: label("理由", "reason"),
    max: 1000,
};

/// A settlement's terms (what the business offers or agreed).
pub const SETTLEMENT: Field = Field::Text {
    name: "settlement",
    label: label("和解内容", "settlement"),
    max: 2000,
};

/// An amount of money in yuan, as text (`123.45`; parsed strictly before it gets here).
pub const AMOUNT: Field = Field::Text {
    name: "amount",
    label: label("金额（元）", "amount (yuan)"),
    max: 20,
};

const SUMMARY: Field = Field::Text {
    name: "summary",
    label: label("办理情况", "summary"),
    max: 2000,
};

const NOTE: Field = Field::Text {
    name: "note",
    label: label("调解记录", "mediation record"),
    max: 2000,
};

/// Art. 15 grounds for not accepting a complaint.
pub const DECLINE_GROUNDS: &[(&str, &str, &str)] = &[
    (
        "outside_remit",
        "不属于市场监督管理部门职责或本部门管辖",
        "outside the remit or jurisdiction",
    ),
    (
        "handled_elsewhere",
        "法院、仲裁机构、消费者协会等已经受理或处理",
        "already handled by a court, arbitrator or consumer association",
    ),
    (
        "not_consumer",
        "不是为生活消费需要购买、使用商品或者接受服务，或者不能证实存在消费者权益争议",
        "not a consumer purchase, or no dispute shown",
    ),
    (
        "over_three_years",
        "自知道或应当知道权益受到损害之日起超过三年",
        "more than 3 years since the harm was known",
    ),
    (
        "missing_materials",
        "未提供投诉人姓名、电话、地址，被投诉人名称、地址，具体诉求及事实等材料",
        "missing materials",
    ),
];

const GROUND: Field = Field::Choice {
    name: "ground",
    label: label("不予受理的理由", "ground"),
    choices: &[
        choice(
            "outside_remit",
            label("不属于本部门职责或管辖", "outside the remit"),
        ),
        choice(
            "handled_elsewhere",
            label("其他机构已受理或处理", "handled elsewhere"),
        ),
        choice(
            "not_consumer",
            label("非生活消费或不能证实争议", "not a consumer dispute"),
        ),
        choice("over_three_years", label("超过三年", "more than 3 years")),
        choice("missing_materials", label("材料不全", "missing materials")),
    ],
};

const DECLINED: Field = Field::Choice {
    name: "outcome",
    label: label("办理结果", "outcome"),
    choices: &[choice("declined", label("不予受理", "not accepted"))],
};

const ODR_SETTLED: Field = Field::Choice {
    name: "outcome",
    label: label("办理结果", "outcome"),
    choices: &[choice(
        "odr_settled",
        label("经营者与消费者和解", "settled with the business"),
    )],
};

/// The outcomes of a mediated complaint (art. 16–21).
pub const CLOSE_OUTCOME: Field = Field::Choice {
    name: "outcome",
    label: label("办理结果", "outcome"),
    choices: &[
        choice("mediated", label("调解成功", "mediated: agreement")),
        choice("no_agreement", label("调解不成", "no agreement")),
        choice("withdrawn", label("投诉人撤回", "withdrawn")),
        choice("terminated", label("终止调解", "mediation ended")),
    ],
};

/// The business concerned, through its enterprise account.
const PARTY: Who = Who::Is(Relation::Party);

pub static COMPLAINT: KindSpec = KindSpec {
    name: "complaint",
    prefix: "TS",
    label: label("投诉", "complaint"),
    states: &[
        StateSpec::open("filed", label("已提交", "filed")),
        StateSpec::open(
            "odr",
            label("经营者处理中（在线纠纷解决）", "with the business (ODR)"),
        ),
        StateSpec::open("received", label("待受理", "awaiting acceptance")),
        StateSpec::open("mediating", label("调解中", "in mediation")),
        StateSpec::open(
            "testing",
            label("检测鉴定中（不计入期限）", "testing (clock paused)"),
        ),
        StateSpec::terminal(
            "odr_settled",
            label("经营者和解", "settled by the business"),
        ),
        StateSpec::terminal("declined", label("不予受理", "not accepted")),
        StateSpec::terminal("closed", label("已办结", "closed")),
    ],
    initial: "filed",
    clocks: &[
        ClockSpec {
            name: "odr",
            label: label("经营者处理期限", "time for the business"),
            working_days: 10,
            escalate_every: 5,
        },
        ClockSpec {
            name: "accept",
            label: label("受理期限", "time to accept"),
            working_days: 7,
            escalate_every: 5,
        },
        ClockSpec {
            name: "mediate",
            label: label("调解期限", "time to mediate"),
            working_days: 45,
            escalate_every: 10,
        },
    ],
    on_create: &[],
    transitions: &[
        TransitionSpec {
            name: "to_odr",
            label: label("转经营者在线处理", "sent to the business (ODR)"),
            from: &["filed"],
            to: "odr",
            who: Who::System,
            clocks: &[ClockEffect::Start("odr")],
            public: true,
            ..TransitionSpec::DEFAULT
        },
        TransitionSpec {
            name: "to_bureau",
            label: label("分送管辖市场监管部门", "sent to the competent bureau"),
            from: &["filed"],
            to: "received",
            who: Who::System,
            clocks: &[ClockEffect::Start("accept")],
            public: true,
            ..TransitionSpec::DEFAULT
        },
        TransitionSpec {
            name: "odr_settle",
            label: label("经营者和解", "the business settles"),
            from: &["odr"],
            to: "odr_settled",
            who: PARTY,
            requires: &[ODR_SETTLED, SETTLEMENT, AMOUNT],
            clocks: &[ClockEffect::Stop("odr")],
            public: true,
        },
        TransitionSpec {
            name: "odr_refuse",
            label: label("经营者拒绝和解", "the business refuses"),
            from: &["odr"],
            to: "received",
            who: PARTY,
            requires: &[REASON],
            clocks: &[ClockEffect::Stop("odr"), ClockEffect::Start("accept")],
            public: true,
        },
        TransitionSpec {
            name: "odr_timeout",
            label: label(
                "经营者逾期未处理，转市场监管部门",
                "no answer in time: to the bureau",
            ),
            from: &["odr"],
            to: "received",
            who: Who::System,
            clocks: &[ClockEffect::Stop("odr"), ClockEffect::Start("accept")],
            public: true,
            ..TransitionSpec::DEFAULT
        },
        TransitionSpec {
            name: "consumer_refuse",
            label: label(
                "消费者不接受和解，转市场监管部门",
                "the consumer refuses the settlement",
            ),
            from: &["odr_settled"],
            to: "received",
            who: Who::System,
            requires: &[REASON],
            clocks: &[ClockEffect::Start("accept")],
            public: true,
        },
        TransitionSpec {
            name: "accept",
            label: label("受理", "accept"),
            from: &["received"],
            to: "mediating",
            clocks: &[ClockEffect::Stop("accept"), ClockEffect::Start("mediate")],
            public: true,
            ..TransitionSpec::DEFAULT
        },
        TransitionSpec {
            name: "decline",
            label: label("不予受理", "decline"),
            from: &["received"],
            to: "declined",
            requires: &[DECLINED, GROUND, REASON],
            public: true,
            ..TransitionSpec::DEFAULT
        },
        TransitionSpec {
            name: "mediate",
            label: label("记录调解", "record a mediation session"),
            from: &["mediating"],
            to: "mediating",
            requires: &[NOTE],
            public: true,
            ..TransitionSpec::DEFAULT
        },
        TransitionSpec {
            name: "hold",
            label: label("检测鉴定（期限中止）", "testing (clock paused)"),
            from: &["mediating"],
            to: "testing",
            requires: &[REASON],
            clocks: &[ClockEffect::Pause("mediate")],
            ..TransitionSpec::DEFAULT
        },
        TransitionSpec {
            name: "resume",
            label: label("恢复调解", "resume mediation"),
            from: &["testing"],
            to: "mediating",
            clocks: &[ClockEffect::Resume("mediate")],
            ..TransitionSpec::DEFAULT
        },
        TransitionSpec {
            name: "close",
            label: label("办结", "close"),
            from: &["mediating", "testing"],
            to: "closed",
            requires: &[CLOSE_OUTCOME, SUMMARY, AMOUNT],
            public: true,
            ..TransitionSpec::DEFAULT
        },
        TransitionSpec {
            name: "reopen",
            label: label("重新办理", "reopen"),
            from: &["closed", "declined"],
            to: "received",
            requires: &[REASON],
            clocks: &[ClockEffect::Start("accept")],
            ..TransitionSpec::DEFAULT
        },
    ],
    create: Who::System,
    write: Who::AnyOf(&[Who::System, OFFICER_IN_JURISDICTION, PARTY]),
    transfer: TransferSpec {
        who: OFFICER_IN_JURISDICTION,
        across_jurisdiction: true,
    },
};

const CASE_OPENED: Field = Field::Choice {
    name: "outcome",
    label: label("办理结果", "outcome"),
    choices: &[choice("case_opened", label("立案", "case opened"))],
};

const NOT_OPENED: Field = Field::Choice {
    name: "outcome",
    label: label("办理结果", "outcome"),
    choices: &[choice("not_opened", label("不予立案", "no case"))],
};

pub static REPORT: KindSpec = KindSpec {
    name: "report",
    prefix: "JB",
    label: label("举报", "report"),
    states: &[
        StateSpec::open("received", label("已接收", "received")),
        StateSpec::open("checking", label("核查中", "being checked")),
        StateSpec::terminal("case_opened", label("已立案", "case opened")),
        StateSpec::terminal("not_opened", label("不予立案", "no case")),
    ],
    initial: "received",
    clocks: &[ClockSpec {
        name: "verify",
        label: label("核查期限", "time to check"),
        working_days: 15,
        escalate_every: 5,
    }],
    on_create: &[ClockEffect::Start("verify")],
    transitions: &[
        TransitionSpec {
            name: "check",
            label: label("开始核查", "start checking"),
            from: &["received"],
            to: "checking",
            public: true,
            ..TransitionSpec::DEFAULT
        },
        TransitionSpec {
            name: "open_case",
            label: label("立案", "open a case"),
            from: &["received", "checking"],
            to: "case_opened",
            requires: &[CASE_OPENED, SUMMARY],
            public: true,
            ..TransitionSpec::DEFAULT
        },
        TransitionSpec {
            name: "no_case",
            label: label("不予立案", "no case"),
            from: &["received", "checking"],
            to: "not_opened",
            requires: &[NOT_OPENED, REASON],
            public: true,
            ..TransitionSpec::DEFAULT
        },
        TransitionSpec {
            name: "reopen",
            label: label("重新核查", "check again"),
            from: &["case_opened", "not_opened"],
            to: "checking",
            requires: &[REASON],
            clocks: &[ClockEffect::Start("verify")],
            ..TransitionSpec::DEFAULT
        },
    ],
    create: Who::System,
    write: Who::AnyOf(&[Who::System, OFFICER_IN_JURISDICTION]),
    transfer: TransferSpec {
        who: OFFICER_IN_JURISDICTION,
        across_jurisdiction: true,
    },
};

const ANSWERED: Field = Field::Choice {
    name: "outcome",
    label: label("办理结果", "outcome"),
    choices: &[choice("answered", label("已答复", "answered"))],
};

pub static HELP: KindSpec = KindSpec {
    name: "help",
    prefix: "ZX",
    label: label("咨询求助", "request for help"),
    states: &[
        StateSpec::open("received", label("已接收", "received")),
        StateSpec::terminal("answered", label("已答复", "answered")),
    ],
    initial: "received",
    clocks: &[ClockSpec {
        name: "answer",
        label: label("答复期限", "time to answer"),
        working_days: 7,
        escalate_every: 5,
    }],
    on_create: &[ClockEffect::Start("answer")],
    transitions: &[
        TransitionSpec {
            name: "answer",
            label: label("答复", "answer"),
            from: &["received"],
            to: "answered",
            requires: &[ANSWERED, SUMMARY],
            public: true,
            ..TransitionSpec::DEFAULT
        },
        TransitionSpec {
            name: "reopen",
            label: label("重新办理", "reopen"),
            from: &["answered"],
            to: "received",
            requires: &[REASON],
            clocks: &[ClockEffect::Start("answer")],
            ..TransitionSpec::DEFAULT
        },
    ],
    create: Who::System,
    write: Who::AnyOf(&[Who::System, OFFICER_IN_JURISDICTION]),
    transfer: TransferSpec {
        who: OFFICER_IN_JURISDICTION,
        across_jurisdiction: true,
    },
};

/// The kind of a matter by its name.
pub fn spec(kind: &str) -> Option<&'static KindSpec> {
    [&COMPLAINT, &REPORT, &HELP]
        .into_iter()
        .find(|k| k.name == kind)
}

/// The label of a state of `kind`, Chinese and English.
pub fn state_label(kind: &str, state: &str) -> (&'static str, &'static str) {
    spec(kind)
        .and_then(|k| k.states.iter().find(|s| s.name == state))
        .map(|s| (s.label.zh, s.label.en))
        .unwrap_or(("", ""))
}

/// The label of a transition of `kind`.
pub fn transition_label(kind: &str, transition: &str) -> (&'static str, &'static str) {
    spec(kind)
        .and_then(|k| k.transitions.iter().find(|t| t.name == transition))
        .map(|t| (t.label.zh, t.label.en))
        .unwrap_or(("", ""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use amr_kernel::calendar::Calendar;
    use amr_kernel::matter::clock::due_on;
    use chrono::NaiveDate;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_kinds_are_well_declared() {
        let engine = amr_kernel::matter::Engine::new(&[&COMPLAINT, &REPORT, &HELP]);
        assert!(engine.is_ok(), "{:?}", engine.err());
    }

    fn clock(name: &str) -> u32 {
        COMPLAINT
            .clocks
            .iter()
            .find(|c| c.name == name)
            .unwrap()
            .working_days
    }

    #[test]
    fn the_limits_are_those_of_order_20() {
        assert_eq!(clock("accept"), 7);
        assert_eq!(clock("mediate"), 45);
        assert_eq!(clock("odr"), 10);
        assert_eq!(REPORT.clocks[0].working_days, 15);
    }

    #[test]
    fn deadlines_skip_national_day_and_count_the_make_up_saturday() {
        let cal = Calendar::embedded();
        // Filed Monday 2026-09-28: 09-29, 09-30, (10-01…10-07 off), 10-08, 10-09,
        // 10-10 (a make-up Saturday), 10-12, 10-13.
        assert_eq!(
            due_on(cal, d("2026-09-28"), clock("accept")).unwrap(),
            d("2026-10-13")
        );
        // Ten working days for the business from Wednesday 2026-09-23: 09-24, (09-25…27
        // Mid-Autumn), 09-28, 09-29, 09-30, (National Day), 10-08, 10-09, 10-10, 10-12,
        // 10-13, 10-14.
        assert_eq!(
            due_on(cal, d("2026-09-23"), clock("odr")).unwrap(),
            d("2026-10-14")
        );
        // Without the holiday, 7 working days from a Monday end on the Wednesday after.
        assert_eq!(
            due_on(cal, d("2026-11-02"), clock("accept")).unwrap(),
            d("2026-11-11")
        );
        // A year without a schedule is refused, not guessed.
        assert!(due_on(cal, d("2026-12-28"), clock("accept")).is_err());
    }
}
