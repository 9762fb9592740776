//! The matter kind of a "你提我点" report: a consumer reports a standard-form clause they met;
//! officers of the business's county review it and confirm it as unfair (the clause then
//! feeds the rule file's test set) or dismiss it.
//!
//! States: received (已接收) → reviewing (核查中) → confirmed (确认不公平) / dismissed (不予确认);
//! a closed report can be reopened with a reason. The review clock (15 working days) is a
//! working target of this deployment, not a statutory limit.

use amr_kernel::matter::{
    ClockEffect, ClockSpec, Field, KindSpec, OFFICER_IN_JURISDICTION, StateSpec, TransferSpec,
    TransitionSpec, Who, choice, label,
};

const REASON: Field = Field::Text {
    name: "reason",
    label: label("理由", "reason"),
    max: 1000,
};

/// The clause an officer confirms (the reported one, corrected if need be).
pub const CLAUSE: Field = Field::Text {
    name: "clause",
    label: label("确认的条款原文", "the confirmed clause"),
    max: 2000,
};

/// The rule the confirmed clause breaks (a rule id of the rule file).
pub const RULE: Field = Field::Text {
    name: "rule",
    label: label("违反的规则", "the rule it breaks"),
    max: 64,
};

const CONFIRM_OUTCOME: Field = Field::Choice {
    name: "outcome",
    label: label("办理结果", "outcome"),
    choices: &[choice(
        "confirmed",
        label("确认为不公平格式条款", "confirmed unfair"),
    )],
};

const DISMISS_OUTCOME: Field = Field::Choice {
    name: "outcome",
    label: label("办理结果", "outcome"),
    choices: &[choice("dismissed", label("不予确认", "dismissed"))],
};

pub static CONTRACT_REPORT: KindSpec = KindSpec {
    name: "contract_report",
    prefix: "HT",
    label: label("格式条款线索（你提我点）", "unfair clause report"),
    states: &[
        StateSpec::open("received", label("已接收", "received")),
        StateSpec::open("reviewing", label("核查中", "under review")),
        StateSpec::terminal("confirmed", label("确认不公平", "confirmed")),
        StateSpec::terminal("dismissed", label("不予确认", "dismissed")),
    ],
    initial: "received",
    clocks: &[ClockSpec {
        name: "review",
        label: label("核查期限", "time to review"),
        working_days: 15,
        escalate_every: 5,
    }],
    on_create: &[ClockEffect::Start("review")],
    transitions: &[
        TransitionSpec {
            name: "review",
            label: label("开始核查", "start the review"),
            from: &["received"],
            to: "reviewing",
            public: true,
            ..TransitionSpec::DEFAULT
        },
        TransitionSpec {
            name: "confirm",
            label: label("确认为不公平格式条款", "confirm as unfair"),
            from: &["reviewing"],
            to: "confirmed",
            requires: &[CONFIRM_OUTCOME, RULE, CLAUSE],
            clocks: &[ClockEffect::Stop("review")],
            public: true,
            ..TransitionSpec::DEFAULT
        },
        TransitionSpec {
            name: "dismiss",
            label: label("不予确认", "dismiss"),
            from: &["received", "reviewing"],
            to: "dismissed",
            requires: &[DISMISS_OUTCOME, REASON],
            clocks: &[ClockEffect::Stop("review")],
            public: true,
            ..TransitionSpec::DEFAULT
        },
        TransitionSpec {
            name: "reopen",
            label: label("重新核查", "reopen"),
            from: &["confirmed", "dismissed"],
            to: "reviewing",
            requires: &[REASON],
            clocks: &[ClockEffect::Start("review")],
            ..TransitionSpec::DEFAULT
        },
    ],
    create: Who::AnyOf(&[Who::System, OFFICER_IN_JURISDICTION]),
    write: Who::AnyOf(&[Who::System, OFFICER_IN_JURISDICTION]),
    transfer: TransferSpec {
        who: OFFICER_IN_JURISDICTION,
        across_jurisdiction: true,
    },
};

#[cfg(test)]
mod tests {
    #[test]
    fn the_kind_is_well_declared() {
        let engine = amr_kernel::matter::Engine::new(&[&super::CONTRACT_REPORT]);
        assert!(engine.is_ok(), "{:?}", engine.err());
    }
}
