//! An example kind: the work order (工单), a matter that is registered, accepted within
//! 7 working days, handled within 15 (the clock paused while the matter waits on something
//! outside the bureau, e.g. a test), closed out with an outcome and reopened with a reason.
//!
//! It knows no field of work; the tests and `docs/MATTERS.md` use it, and a context declares
//! its own kinds the same way.

use super::kind::{
    ClockEffect, ClockSpec, Field, KindSpec, OFFICER_IN_JURISDICTION, Relation, StateSpec,
    TransferSpec, TransitionSpec, Who, choice, label,
};
use crate::auth::Role;

const REASON: Field = Field::Text {
    name: "reason",
    label: label("理由", "reason"),
    max: 500,
};

const CLOSE_OUTCOME: Field = Field::Choice {
    name: "outcome",
    label: label("办理结果", "outcome"),
    choices: &[
        choice("resolved", label("已解决", "resolved")),
        choice("unresolved", label("未能解决", "unresolved")),
        choice("withdrawn", label("申请人撤回", "withdrawn")),
    ],
};

const DECLINE_OUTCOME: Field = Field::Choice {
    name: "outcome",
    label: label("办理结果", "outcome"),
    choices: &[choice("declined", label("不予受理", "declined"))],
};

/// The assignee, who must be an officer.
const ASSIGNED_OFFICER: Who = Who::AllOf(&[Who::Role(Role::Officer), Who::Is(Relation::Assignee)]);

/// The work order (工单), prefix `GD`.
pub static TICKET: KindSpec = KindSpec {
    name: "ticket",
    prefix: "GD",
    label: label("工单", "work order"),
    states: &[
        StateSpec::open("registered", label("已登记", "registered")),
        StateSpec::open("accepted", label("办理中", "in hand")),
        StateSpec::open("waiting", label("中止（等待外部结果）", "on hold")),
        StateSpec::terminal("closed", label("已办结", "closed")),
    ],
    initial: "registered",
    clocks: &[
        ClockSpec {
            name: "accept",
            label: label("受理期限", "time to accept"),
            working_days: 7,
            escalate_every: 5,
        },
        ClockSpec {
            name: "handle",
            label: label("办理期限", "time to handle"),
            working_days: 15,
            escalate_every: 5,
        },
    ],
    on_create: &[ClockEffect::Start("accept")],
    transitions: &[
        TransitionSpec {
            name: "accept",
            label: label("受理", "accept"),
            from: &["registered"],
            to: "accepted",
            clocks: &[ClockEffect::Stop("accept"), ClockEffect::Start("handle")],
            public: true,
            ..TransitionSpec::DEFAULT
        },
        TransitionSpec {
            name: "decline",
            label: label("不予受理", "decline"),
            from: &["registered"],
            to: "closed",
            requires: &[DECLINE_OUTCOME, REASON],
            public: true,
            ..TransitionSpec::DEFAULT
        },
        TransitionSpec {
            name: "hold",
            label: label("中止", "put on hold"),
            from: &["accepted"],
            to: "waiting",
            who: ASSIGNED_OFFICER,
            requires: &[REASON],
            clocks: &[ClockEffect::Pause("handle")],
            ..TransitionSpec::DEFAULT
        },
        TransitionSpec {
            name: "resume",
            label: label("恢复办理", "resume"),
            from: &["waiting"],
            to: "accepted",
            who: ASSIGNED_OFFICER,
            clocks: &[ClockEffect::Resume("handle")],
            ..TransitionSpec::DEFAULT
        },
        TransitionSpec {
            name: "answer",
            label: label("经营者答复", "the business answers"),
            from: &["accepted"],
            to: "accepted",
            who: Who::Is(Relation::Party),
            requires: &[Field::Text {
                name: "answer",
                label: label("答复", "answer"),
                max: 2000,
            }],
            ..TransitionSpec::DEFAULT
        },
        TransitionSpec {
            name: "close",
            label: label("办结", "close"),
            from: &["accepted", "waiting"],
            to: "closed",
            who: ASSIGNED_OFFICER,
            requires: &[
                CLOSE_OUTCOME,
                Field::Text {
                    name: "summary",
                    label: label("办理情况", "summary"),
                    max: 2000,
                },
            ],
            public: true,
            ..TransitionSpec::DEFAULT
        },
        TransitionSpec {
            name: "reopen",
            label: label("重新办理", "reopen"),
            from: &["closed"],
            to: "accepted",
            requires: &[REASON],
            clocks: &[ClockEffect::Start("handle")],
            ..TransitionSpec::DEFAULT
        },
    ],
    create: Who::AnyOf(&[Who::System, OFFICER_IN_JURISDICTION]),
    write: Who::AnyOf(&[
        Who::System,
        OFFICER_IN_JURISDICTION,
        Who::Is(Relation::Party),
    ]),
    transfer: TransferSpec {
        who: OFFICER_IN_JURISDICTION,
        across_jurisdiction: true,
    },
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matter::kind::Kind;

    #[test]
    fn the_example_is_a_valid_kind() {
        Kind::new(&TICKET).unwrap();
    }

    static BROKEN: KindSpec = KindSpec {
        name: "broken",
        prefix: "B1",
        states: &[
            StateSpec::open("open", label("", "")),
            StateSpec::terminal("done", label("", "")),
        ],
        initial: "done",
        transitions: &[
            TransitionSpec {
                name: "finish",
                from: &["open"],
                to: "done",
                clocks: &[ClockEffect::Stop("nowhere")],
                ..TransitionSpec::DEFAULT
            },
            TransitionSpec {
                name: "again",
                from: &["done", "limbo"],
                to: "open",
                ..TransitionSpec::DEFAULT
            },
        ],
        label: label("", ""),
        clocks: &[],
        on_create: &[],
        create: Who::Anyone,
        write: Who::Anyone,
        transfer: TransferSpec {
            who: Who::Anyone,
            across_jurisdiction: false,
        },
    };

    #[test]
    fn a_broken_declaration_names_every_problem() {
        let problems = Kind::new(&BROKEN).unwrap_err();
        let all = problems.join("\n");
        for want in [
            "prefix \"B1\"",
            "initial state done is terminal",
            "finish closes the matter and must require a Choice named outcome",
            "undeclared clock nowhere",
            "leaves undeclared state limbo",
            "again reopens the matter and must require a Text named reason",
        ] {
            assert!(all.contains(want), "missing {want:?} in:\n{all}");
        }
    }
}
