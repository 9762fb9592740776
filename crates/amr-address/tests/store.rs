//! The address service's stores on both backends: the standard library (add, retire, import,
//! match), the negative list, the check, commitments and the risk counts. Every refusal is
//! tested, and a refusal writes nothing.

use amr_address::check::{CheckRequest, Outcome, check, today};
use amr_address::commitment::{self, CommitmentInput};
use amr_address::library;
use amr_address::risk::{self, Registration};
use amr_address::rules::{self, RuleInput};
use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::Scope;
use amr_kernel::db::{Backend, Db, kernel_migrations};
use amr_kernel::error::AppError;
use amr_kernel::testing::{TestDb, backends};
use chrono::NaiveDate;

const ADDRESS: &str = "历下区泉城路180号齐鲁国际大厦10楼";

async fn fresh(backend: Backend) -> TestDb {
    TestDb::with_sets(
        backend,
        &[kernel_migrations(), amr_address::schema::migrations()],
    )
    .await
}

fn officer() -> Actor {
    Actor {
        kind: "account",
        id: Some(7),
        name: "officer.lixia".into(),
        ip: Some("127.0.0.1".into()),
    }
}

async fn audit_count(db: &Db) -> usize {
    audit::list(db, &Scope::all(), None, 10_000)
        .await
        .unwrap()
        .len()
}

async fn add_entry(db: &Db, scope: &Scope, address: &str) -> Result<library::Entry, AppError> {
    let e = library::prepare("3701", address, None)?;
    let mut tx = db.begin().await?;
    let entry = library::add(&mut tx, &officer(), scope, &e).await?;
    tx.commit().await?;
    Ok(entry)
}

fn req(address: &str) -> CheckRequest {
    CheckRequest {
        address: address.into(),
        ..CheckRequest::default()
    }
}

#[tokio::test]
async fn the_library_matches_exactly_or_shows_the_nearest_with_differences() {
    for backend in backends() {
        let t = fresh(backend).await;
        let db = &t.db;
        let lixia = Scope::prefix("370102");
        let e = add_entry(db, &lixia, "济南市历下区泉城路180号齐鲁国际大厦")
            .await
            .unwrap();
        assert_eq!(e.match_key, "3701|泉城路|180号|齐鲁国际大厦");
        add_entry(db, &lixia, "历下区泉城路188号").await.unwrap();
        add_entry(db, &lixia, "历下区泉城路100号").await.unwrap();
        assert_eq!(audit_count(db).await, 3);

        // Written differently, the same entry.
        let v = check(db, &req(ADDRESS), today()).await.unwrap();
        assert_eq!(v.outcome, Outcome::AcceptedStandard, "{v:?}");
        assert_eq!(v.standard.as_ref().unwrap().id, e.id);
        let v = check(
            db,
            &req("山东省济南市历下区泉城路一百八十号齐鲁国际大厦"),
            today(),
        )
        .await
        .unwrap();
        assert_eq!(v.outcome, Outcome::AcceptedStandard);

        // Not there: the nearest numbers on the same road, with what differs.
        let v = check(db, &req("历下区泉城路186号"), today()).await.unwrap();
        assert_eq!(v.outcome, Outcome::NeedsCommitment);
        assert!(v.standard.is_none());
        assert_eq!(v.nearest[0].entry.road_no, "188号");
        assert_eq!(v.nearest[0].number_distance, Some(2));
        assert_eq!(v.nearest[0].differences[0].field, "road_no");
        assert_eq!(v.nearest[1].entry.road_no, "180号");
        assert!(
            v.nearest[1]
                .differences
                .iter()
                .any(|d| d.field == "building")
        );

        // Refusals: a duplicate, another county's address, a retired one no longer matches.
        let dup = add_entry(db, &lixia, "泉城路180号齐鲁国际大厦，历下区").await;
        assert!(matches!(dup, Err(AppError::Conflict(_))), "{dup:?}");
        let other = add_entry(db, &lixia, "市中区经七路1号").await;
        assert!(
            matches!(other, Err(AppError::BadRequest { .. })),
            "{other:?}"
        );
        let no_number = library::prepare("3701", "历下区泉城路", None);
        assert!(matches!(no_number, Err(AppError::BadRequest { .. })));
        assert_eq!(audit_count(db).await, 3, "refusals write nothing");

        let mut tx = db.begin().await.unwrap();
        let outside =
            library::retire(&mut tx, &officer(), &Scope::prefix("370103"), e.id, "拆除").await;
        assert!(matches!(outside, Err(AppError::NotFound)));
        let no_reason = library::retire(&mut tx, &officer(), &lixia, e.id, " ").await;
        assert!(matches!(no_reason, Err(AppError::BadRequest { .. })));
        library::retire(&mut tx, &officer(), &lixia, e.id, "楼宇拆除")
            .await
            .unwrap();
        let again = library::retire(&mut tx, &officer(), &lixia, e.id, "再次").await;
        assert!(matches!(again, Err(AppError::Conflict(_))));
        tx.commit().await.unwrap();
        let v = check(db, &req(ADDRESS), today()).await.unwrap();
        assert_eq!(v.outcome, Outcome::NeedsCommitment);
        // Retired, the address can be added again.
        add_entry(db, &lixia, ADDRESS).await.unwrap();
        let found = library::search(db, &lixia, "3701", "泉城路", 0)
            .await
            .unwrap();
        assert_eq!(found.len(), 3);
        let none = library::search(db, &Scope::prefix("370103"), "3701", "", 0)
            .await
            .unwrap();
        assert!(none.is_empty(), "another county sees none of them");
    }
}

#[tokio::test]
async fn imports_csv_and_xlsx_with_a_reason_for_each_refused_row() {
    for backend in backends() {
        let t = fresh(backend).await;
        let db = &t.db;
        let csv = "地址,地址类型\n\
                   历下区泉城路180号齐鲁国际大厦,商业\n\
                   历下区泉城路\n\
                   青岛市市南区香港中路10号,\n\
                   历下区泉城路180号齐鲁国际大厦,商业\n\
                   ,\n\
                   历下区经十路9777号,住宅\n";
        let rows = library::read_table("lib.csv", csv.as_bytes()).unwrap();
        let r = library::import_rows(
            db,
            &Actor::cli(),
            &Scope::all(),
            "3701",
            "import:lib.csv",
            &rows,
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!((r.rows, r.inserted, r.duplicates), (6, 2, 1), "{r:?}");
        assert_eq!(
            r.errors.iter().map(|e| e.row).collect::<Vec<_>>(),
            [2, 3],
            "{r:?}"
        );
        assert!(r.errors[0].message.contains("门牌号"));
        assert!(r.errors[1].message.contains("3701"));
        // The rows taken are listed with their number and whether they were new.
        assert_eq!(r.refused, 2);
        let taken: Vec<(u64, bool)> = r.accepted.iter().map(|a| (a.row, a.inserted)).collect();
        assert_eq!(taken, [(1, true), (4, false), (6, true)], "{r:?}");
        assert!(r.accepted[0].full_address.contains("齐鲁国际大厦"));

        // The report is kept for its result page: the importer and the city see it.
        let id = library::save_import(db, &officer(), "3701", "import:lib.csv", &r)
            .await
            .unwrap();
        let kept = library::get_import(db, &Scope::prefix("370102"), "officer.lixia", id)
            .await
            .unwrap();
        assert_eq!(kept.report, r);
        assert_eq!(kept.created_by, "officer.lixia");
        let city = library::get_import(db, &Scope::prefix("3701"), "someone.else", id).await;
        assert!(city.is_ok());
        let other = library::get_import(db, &Scope::prefix("370103"), "officer.shizhong", id).await;
        assert!(matches!(other, Err(AppError::NotFound)), "{other:?}");
        let none = library::get_import(db, &Scope::all(), "x", id + 1).await;
        assert!(matches!(none, Err(AppError::NotFound)));
        // Long reports keep every count but list the first rows only.
        let mut long = r.clone();
        long.errors = (1..=2500)
            .map(|n| library::RowError {
                row: n,
                field: "address".into(),
                message: "缺门牌号 (no number)".into(),
            })
            .collect();
        long.refused = 2500;
        let id = library::save_import(db, &officer(), "3701", "import:long.csv", &long)
            .await
            .unwrap();
        let kept = library::get_import(db, &Scope::all(), "x", id)
            .await
            .unwrap();
        assert_eq!(kept.report.errors.len(), library::LISTED_ROWS);
        assert_eq!(kept.report.refused, 2500);

        // The same rows from a workbook, structured columns.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lib.xlsx");
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (c, h) in ["道路", "门牌号", "楼宇", "区县代码"].iter().enumerate() {
            sheet.write_string(0, c as u16, *h).unwrap();
        }
        for (c, v) in ["泉城路", "200号", "", "370102"].iter().enumerate() {
            sheet.write_string(1, c as u16, *v).unwrap();
        }
        for (c, v) in ["泉城路", "", "", "370102"].iter().enumerate() {
            sheet.write_string(2, c as u16, *v).unwrap();
        }
        book.save(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let rows = library::read_table("lib.xlsx", &bytes).unwrap();
        let r = library::import_rows(
            db,
            &Actor::cli(),
            &Scope::all(),
            "3701",
            "import:lib.xlsx",
            &rows,
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!((r.inserted, r.errors.len()), (1, 1), "{r:?}");
        let v = check(db, &req("济南市历下区泉城路200号"), today())
            .await
            .unwrap();
        assert_eq!(v.outcome, Outcome::AcceptedStandard);

        // A city outside the importer's jurisdiction is refused as a whole.
        let r = library::import_rows(
            db,
            &Actor::cli(),
            &Scope::prefix("3702"),
            "3701",
            "x",
            &rows,
            |_| {},
        )
        .await;
        assert!(matches!(r, Err(AppError::BadRequest { .. })));
        // A file without the columns is refused before anything is read.
        assert!(library::read_table("x.csv", "名称\n甲\n".as_bytes()).is_err());
        assert!(library::read_table("x.xlsx", b"not a workbook").is_err());
    }
}

async fn add_rule(db: &Db, scope: &Scope, input: RuleInput) -> Result<rules::Rule, AppError> {
    let r = input.validate(today())?;
    let mut tx = db.begin().await?;
    let rule = rules::add(&mut tx, &officer(), scope, &r).await?;
    tx.commit().await?;
    Ok(rule)
}

fn rule(kind: &str, value: &str, division: &str) -> RuleInput {
    RuleInput {
        kind: kind.into(),
        value: value.into(),
        division: division.into(),
        reason: "该楼宇列入征收拆迁范围".into(),
        legal_basis: "《市场主体登记管理条例》第十一条".into(),
        ..RuleInput::default()
    }
}

#[tokio::test]
async fn a_negative_list_hit_refuses_with_the_rule_shown() {
    for backend in backends() {
        let t = fresh(backend).await;
        let db = &t.db;
        let jinan = Scope::prefix("3701");
        let b = add_rule(db, &jinan, rule("building", "齐鲁国际大厦", "3701"))
            .await
            .unwrap();
        let v = check(db, &req(ADDRESS), today()).await.unwrap();
        assert_eq!(v.outcome, Outcome::Refused);
        assert_eq!(v.negative_hits[0].id, b.id);
        assert_eq!(
            v.negative_hits[0].legal_basis,
            "《市场主体登记管理条例》第十一条"
        );
        // Other addresses are not touched.
        let v = check(db, &req("历下区经十路9777号"), today())
            .await
            .unwrap();
        assert!(v.negative_hits.is_empty());

        // Ending the rule lifts it; a rule valid only from tomorrow does not hit yet.
        let mut tx = db.begin().await.unwrap();
        let outside = rules::end(&mut tx, &officer(), &Scope::prefix("3702"), b.id).await;
        assert!(matches!(outside, Err(AppError::NotFound)));
        rules::end(&mut tx, &officer(), &jinan, b.id).await.unwrap();
        let again = rules::end(&mut tx, &officer(), &jinan, b.id).await;
        assert!(matches!(again, Err(AppError::Conflict(_))));
        tx.commit().await.unwrap();
        let tomorrow = today().succ_opt().unwrap();
        add_rule(
            db,
            &jinan,
            RuleInput {
                valid_from: tomorrow.to_string(),
                ..rule("road", "泉城路", "370102")
            },
        )
        .await
        .unwrap();
        let v = check(db, &req(ADDRESS), today()).await.unwrap();
        assert_eq!(v.outcome, Outcome::NeedsCommitment);
        let v = check(db, &req(ADDRESS), tomorrow).await.unwrap();
        assert_eq!(v.outcome, Outcome::Refused);

        // Type rules: the declared type, limited to industries.
        add_rule(
            db,
            &jinan,
            RuleInput {
                industries: "H".into(),
                ..rule("type", "住宅", "3701")
            },
        )
        .await
        .unwrap();
        let typed = CheckRequest {
            address: "历下区经十路9777号".into(),
            address_type: "住宅".into(),
            industry: "H6210".into(),
            ..CheckRequest::default()
        };
        assert_eq!(
            check(db, &typed, today()).await.unwrap().outcome,
            Outcome::Refused
        );
        let other_industry = CheckRequest {
            industry: "I6510".into(),
            ..typed.clone()
        };
        assert_eq!(
            check(db, &other_industry, today()).await.unwrap().outcome,
            Outcome::NeedsCommitment
        );

        // Refusals: a national rule by a city officer, bad fields; nothing written.
        let before = audit_count(db).await;
        let national = add_rule(db, &jinan, rule("pattern", "军营", "")).await;
        assert!(
            matches!(national, Err(AppError::BadRequest { .. })),
            "{national:?}"
        );
        let bad = add_rule(db, &jinan, rule("division", "37x", "")).await;
        assert!(matches!(bad, Err(AppError::BadRequest { .. })));
        assert_eq!(audit_count(db).await, before);
        assert_eq!(rules::list(db, &jinan).await.unwrap().len(), 3);
        let listed = rules::list(db, &Scope::prefix("3702")).await.unwrap();
        assert!(listed.is_empty(), "Qingdao does not see Jinan's rules");
        // Bad check input.
        for bad in ["", "   "] {
            assert!(matches!(
                check(db, &req(bad), today()).await,
                Err(AppError::BadRequest { .. })
            ));
        }
        let long = "泉".repeat(201);
        assert!(matches!(
            check(db, &req(&long), today()).await,
            Err(AppError::BadRequest { .. })
        ));
        let bad_hint = CheckRequest {
            hint: "37a".into(),
            ..req(ADDRESS)
        };
        assert!(matches!(
            check(db, &bad_hint, today()).await,
            Err(AppError::BadRequest { .. })
        ));
    }
}

async fn commit(
    db: &Db,
    address: &str,
    applicant: &str,
) -> Result<commitment::Commitment, AppError> {
    let input = CommitmentInput {
        address: address.into(),
        applicant: applicant.into(),
        ..CommitmentInput::default()
    };
    let v = check(db, &req(address), today()).await?;
    let mut tx = db.begin().await?;
    let c = commitment::record(&mut tx, &officer(), &input, &v).await?;
    tx.commit().await?;
    Ok(c)
}

#[tokio::test]
async fn commitments_are_recorded_audited_and_verified_within_the_jurisdiction() {
    for backend in backends() {
        let t = fresh(backend).await;
        let db = &t.db;
        let c = commit(db, ADDRESS, "济南泉城科技有限公司").await.unwrap();
        assert_eq!(c.status, "pending");
        assert_eq!(c.division, "370102");
        assert_eq!(c.recorded_by, "account:7");
        let lixia = Scope::prefix("370102");
        let queue = commitment::list(db, &lixia, "pending", 10).await.unwrap();
        assert_eq!(queue.len(), 1);
        assert!(
            commitment::list(db, &Scope::prefix("370103"), "pending", 10)
                .await
                .unwrap()
                .is_empty()
        );
        let audited = audit_count(db).await;
        assert_eq!(audited, 1);

        // Refusals, none of which writes: no applicant, a bad USCC, an address with no
        // county, a standard address, a refused one.
        assert!(matches!(
            commit(db, ADDRESS, " ").await,
            Err(AppError::BadRequest { .. })
        ));
        let bad_uscc = CommitmentInput {
            address: ADDRESS.into(),
            applicant: "甲".into(),
            uscc: "91370102XXXX".into(),
            ..CommitmentInput::default()
        };
        let v = check(db, &req(ADDRESS), today()).await.unwrap();
        let mut tx = db.begin().await.unwrap();
        let r = commitment::record(&mut tx, &officer(), &bad_uscc, &v).await;
        assert!(
            matches!(r, Err(AppError::BadRequest { ref field, .. }) if field == "uscc"),
            "{r:?}"
        );
        drop(tx);
        assert!(matches!(
            commit(db, "某某路1号", "甲").await,
            Err(AppError::BadRequest { .. })
        ));
        add_entry(db, &lixia, "历下区经十路9777号").await.unwrap();
        assert!(matches!(
            commit(db, "历下区经十路9777号", "甲").await,
            Err(AppError::Rejected { .. })
        ));
        add_rule(db, &Scope::prefix("3701"), rule("pattern", "军营", "3701"))
            .await
            .unwrap();
        let r = commit(db, "历下区山大路1号军营", "甲").await;
        match r {
            Err(AppError::Rejected { message }) => {
                assert!(message.contains("负面清单"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            audit_count(db).await,
            audited + 2,
            "only the entry and the rule"
        );

        let mut tx = db.begin().await.unwrap();
        let outside = commitment::verify(
            &mut tx,
            &officer(),
            &Scope::prefix("370103"),
            c.id,
            "verified",
            "",
        )
        .await;
        assert!(matches!(outside, Err(AppError::NotFound)));
        let no_note = commitment::verify(&mut tx, &officer(), &lixia, c.id, "false", "").await;
        assert!(matches!(no_note, Err(AppError::BadRequest { .. })));
        let bad = commitment::verify(&mut tx, &officer(), &lixia, c.id, "maybe", "x").await;
        assert!(matches!(bad, Err(AppError::BadRequest { .. })));
        let done = commitment::verify(
            &mut tx,
            &officer(),
            &lixia,
            c.id,
            "false",
            "实地核查无此企业",
        )
        .await
        .unwrap();
        assert_eq!(done.status, "false");
        let again = commitment::verify(&mut tx, &officer(), &lixia, c.id, "verified", "").await;
        assert!(matches!(again, Err(AppError::Conflict(_))));
        tx.commit().await.unwrap();
        assert!(
            commitment::list(db, &lixia, "pending", 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            commitment::list(db, &lixia, "false", 10)
                .await
                .unwrap()
                .len(),
            1
        );
    }
}

fn reg(uscc: &str, address: &str, status: &str, day: u32) -> Registration {
    Registration {
        uscc: uscc.into(),
        address: address.into(),
        division: "370102".into(),
        registered_on: NaiveDate::from_ymd_opt(2024, 1, day).unwrap(),
        status: status.into(),
        abnormal: false,
    }
}

#[tokio::test]
async fn addresses_over_the_threshold_go_to_review_unless_declared_clusters() {
    for backend in backends() {
        let t = fresh(backend).await;
        let db = &t.db;
        let lixia = Scope::prefix("370102");
        // Eleven entities at one address (written in different ways), one elsewhere.
        let mut tx = db.begin().await.unwrap();
        for i in 1..=11u32 {
            let address = if i % 2 == 0 {
                "山东省济南市历下区泉城路180号齐鲁国际大厦1001室".to_string()
            } else {
                format!("泉城路一百八十号齐鲁国际大厦{i}楼")
            };
            let status = if i <= 3 { "revoked" } else { "active" };
            risk::record_registration(&mut tx, &reg(&format!("U{i:02}"), &address, status, i))
                .await
                .unwrap();
        }
        risk::record_registration(&mut tx, &reg("U99", "历下区经十路9777号", "active", 1))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let key = "3701|泉城路|180号|齐鲁国际大厦";
        let a = risk::get(db, key).await.unwrap().unwrap();
        assert_eq!(
            (a.entity_count, a.inactive_count, a.abnormal_count),
            (11, 3, 0)
        );
        assert_eq!(a.first_registered, NaiveDate::from_ymd_opt(2024, 1, 1));
        assert_eq!(a.review_state, "pending");
        let top = risk::riskiest(db, &lixia, "3701", 10).await.unwrap();
        assert_eq!(top[0].risk_key, key);
        assert_eq!(top.len(), 2);
        assert_eq!(
            risk::queue(db, &lixia, Some("3701"), 10)
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(
            risk::queue(db, &Scope::prefix("370103"), None, 10)
                .await
                .unwrap()
                .is_empty()
        );
        // The check shows it.
        let v = check(db, &req(ADDRESS), today()).await.unwrap();
        assert_eq!(v.risk.entity_count, 11);
        assert!(v.risk.over_threshold);

        // Recording the same facts again changes nothing; moving an entity moves its count.
        let mut tx = db.begin().await.unwrap();
        risk::record_registration(
            &mut tx,
            &reg("U01", "泉城路一百八十号齐鲁国际大厦1楼", "revoked", 1),
        )
        .await
        .unwrap();
        risk::record_registration(&mut tx, &reg("U02", "历下区经十路9777号", "active", 2))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let a = risk::get(db, key).await.unwrap().unwrap();
        assert_eq!(a.entity_count, 10);
        assert_eq!(a.review_state, "none", "back under the threshold");

        // Over again; reviewed with a note; declared a cluster, it leaves the queue.
        let mut tx = db.begin().await.unwrap();
        risk::record_registration(&mut tx, &reg("U02", ADDRESS, "active", 2))
            .await
            .unwrap();
        let outside = risk::review(
            &mut tx,
            &officer(),
            &Scope::prefix("370103"),
            key,
            "cleared",
            "x",
        )
        .await;
        assert!(matches!(outside, Err(AppError::NotFound)));
        let no_note = risk::review(&mut tx, &officer(), &lixia, key, "cleared", "").await;
        assert!(matches!(no_note, Err(AppError::BadRequest { .. })));
        let bad = risk::review(&mut tx, &officer(), &lixia, key, "ok", "x").await;
        assert!(matches!(bad, Err(AppError::BadRequest { .. })));
        let r = risk::review(
            &mut tx,
            &officer(),
            &lixia,
            key,
            "reviewed",
            "实地核查，均在此经营",
        )
        .await
        .unwrap();
        assert_eq!(
            (r.review_state.as_str(), r.reviewed_count),
            ("reviewed", 11)
        );
        let again = risk::review(&mut tx, &officer(), &lixia, key, "reviewed", "x").await;
        assert!(matches!(again, Err(AppError::Conflict(_))));
        // One more entity brings it back.
        risk::record_registration(&mut tx, &reg("U50", ADDRESS, "active", 5))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            risk::get(db, key).await.unwrap().unwrap().review_state,
            "pending"
        );
        let mut tx = db.begin().await.unwrap();
        let c = risk::declare_cluster(
            &mut tx,
            &officer(),
            &lixia,
            key,
            true,
            "齐鲁国际大厦集群注册",
        )
        .await
        .unwrap();
        assert!(c.cluster);
        assert_eq!(c.review_state, "none");
        tx.commit().await.unwrap();
        let v = check(db, &req(ADDRESS), today()).await.unwrap();
        assert!(v.risk.cluster && !v.risk.over_threshold);

        // The threshold is a setting.
        let mut tx = db.begin().await.unwrap();
        assert!(matches!(
            risk::set_threshold(&mut tx, &officer(), 0).await,
            Err(AppError::BadRequest { .. })
        ));
        risk::set_threshold(&mut tx, &officer(), 1).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(risk::threshold(db).await.unwrap(), 1);
        let nine = risk::get(db, "3701|经十路|9777号|").await.unwrap().unwrap();
        assert_eq!((nine.entity_count, nine.review_state.as_str()), (1, "none"));
        let mut tx = db.begin().await.unwrap();
        risk::record_registration(&mut tx, &reg("U98", "历下区经十路9777号", "active", 3))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let nine = risk::get(db, "3701|经十路|9777号|").await.unwrap().unwrap();
        assert_eq!(
            (nine.entity_count, nine.review_state.as_str()),
            (2, "pending")
        );

        // A rebuild from the registry's list recounts everything and keeps the declarations.
        let n = risk::rebuild_from(
            db,
            (0..30).map(|i| {
                reg(
                    &format!("R{i:02}"),
                    ADDRESS,
                    if i < 5 { "deregistered" } else { "active" },
                    1 + (i % 28),
                )
            }),
        )
        .await
        .unwrap();
        assert_eq!(n, 30);
        let a = risk::get(db, key).await.unwrap().unwrap();
        assert_eq!((a.entity_count, a.inactive_count), (30, 5));
        assert!(a.cluster);
        let nine = risk::get(db, "3701|经十路|9777号|").await.unwrap().unwrap();
        assert_eq!((nine.entity_count, nine.review_state.as_str()), (0, "none"));
    }
}
