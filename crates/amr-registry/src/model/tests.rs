use rand::SeedableRng;

use amr_kernel::codes::uscc::{RegistrationType, Uscc};

use super::*;

fn uscc(t: RegistrationType, seed: u64) -> String {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    Uscc::generate(t, "370102", &mut rng).unwrap().to_string()
}

fn valid() -> NewEntity {
    NewEntity {
        uscc: uscc(RegistrationType::Enterprise, 1),
        name: "济南历下示例科技有限公司".into(),
        entity_type: EntityType::Enterprise,
        legal_rep: "张三丰".into(),
        legal_rep_id: Some("11010519491231002X".into()),
        phone: Some("0531-88888888".into()),
        capital_yuan: Some(1_000_000),
        established: NaiveDate::from_ymd_opt(2020, 5, 17).unwrap(),
        address: "山东省济南市历下区泉城路1号".into(),
        division: "370102001".into(),
        scope: "软件开发；信息技术咨询服务".into(),
        industry: "6513".into(),
        status: Status::Active,
    }
}

fn fields(r: Result<(), Vec<FieldError>>) -> Vec<&'static str> {
    r.err()
        .unwrap_or_default()
        .iter()
        .map(|e| e.field)
        .collect()
}

#[test]
fn keys_and_names_round_trip() {
    for t in EntityType::ALL {
        assert_eq!(EntityType::parse(t.as_str()), Some(t));
        assert_eq!(EntityType::parse(t.name_zh()), Some(t));
        assert_eq!(
            serde_json::to_value(t).unwrap(),
            serde_json::json!(t.as_str())
        );
        assert!(!t.name_en().is_empty());
    }
    for s in Status::ALL {
        assert_eq!(Status::parse(s.as_str()), Some(s));
        assert_eq!(Status::parse(s.name_zh()), Some(s));
        assert_eq!(
            serde_json::to_value(s).unwrap(),
            serde_json::json!(s.as_str())
        );
    }
    for a in ["存续", "在营", "开业", "在业", " active "] {
        assert_eq!(Status::parse(a), Some(Status::Active), "{a}");
    }
    assert_eq!(Status::parse("歇业"), Some(Status::Suspended));
    assert_eq!(Status::parse("吊销"), Some(Status::Revoked));
    assert_eq!(Status::parse("注销"), Some(Status::Deregistered));
    assert_eq!(Status::parse("迁出"), Some(Status::MovedOut));
    assert_eq!(Status::parse("closed"), None);
    assert_eq!(
        EntityType::parse("个体工商户"),
        Some(EntityType::IndividualBusiness)
    );
    assert_eq!(EntityType::parse("公司"), None);
}

#[test]
fn a_valid_entity_passes() {
    assert_eq!(valid().validate(), Ok(()));
    let mut ib = valid();
    ib.uscc = uscc(RegistrationType::IndividualBusiness, 2);
    ib.entity_type = EntityType::IndividualBusiness;
    ib.capital_yuan = None;
    ib.legal_rep_id = None;
    ib.phone = None;
    ib.division = "370102".into();
    ib.scope = String::new();
    assert_eq!(ib.validate(), Ok(()));
    let mut branch = valid();
    branch.entity_type = EntityType::Branch;
    branch.capital_yuan = None;
    assert_eq!(branch.validate(), Ok(()));
}

#[test]
fn each_rule_names_its_field() {
    let check = |f: fn(&mut NewEntity), want: &[&str]| {
        let mut e = valid();
        f(&mut e);
        assert_eq!(fields(e.validate()), want, "{e:?}");
    };
    check(|e| e.uscc = "91370102MA3C4XYZ1Q".into(), &["uscc"]);
    check(|e| e.uscc = e.uscc.to_lowercase(), &["uscc"]);
    check(
        |e| e.entity_type = EntityType::IndividualBusiness,
        &["entity_type", "capital_yuan"],
    );
    check(
        |e| e.entity_type = EntityType::FarmerCooperative,
        &["entity_type"],
    );
    check(|e| e.name = "公".into(), &["name"]);
    check(|e| e.name = "公".repeat(101), &["name"]);
    check(|e| e.name = "示例\u{7}公司".into(), &["name"]);
    check(|e| e.legal_rep = String::new(), &["legal_rep"]);
    check(|e| e.legal_rep = "张".repeat(51), &["legal_rep"]);
    check(
        |e| e.legal_rep_id = Some("110105194912310021".into()),
        &["legal_rep_id"],
    );
    check(
        |e| e.legal_rep_id = Some("11010519491231002".into()),
        &["legal_rep_id"],
    );
    check(|e| e.phone = Some("12345".into()), &["phone"]);
    check(|e| e.phone = Some("0531 8888888".into()), &["phone"]);
    check(|e| e.phone = Some("1".repeat(21)), &["phone"]);
    check(|e| e.capital_yuan = Some(-1), &["capital_yuan"]);
    check(
        |e| e.established = today_in_china().succ_opt().unwrap(),
        &["established"],
    );
    check(
        |e| e.established = NaiveDate::from_ymd_opt(1949, 9, 30).unwrap(),
        &["established"],
    );
    check(|e| e.address = String::new(), &["address"]);
    check(|e| e.address = "路".repeat(201), &["address"]);
    check(|e| e.division = "3701".into(), &["division"]);
    check(|e| e.division = "370100".into(), &["division"]);
    check(|e| e.division = "370199".into(), &["division"]);
    check(|e| e.division = "370102999".into(), &["division"]);
    check(|e| e.scope = "营".repeat(2001), &["scope"]);
    check(|e| e.industry = "651".into(), &["industry"]);
    check(|e| e.industry = "6598".into(), &["industry"]);
    // Several at once, in field order; messages are Chinese first.
    let mut e = valid();
    e.name = String::new();
    e.industry = "I".into();
    let errs = e.validate().unwrap_err();
    assert_eq!(
        errs.iter().map(|e| e.field).collect::<Vec<_>>(),
        ["name", "industry"]
    );
    assert!(errs[0].message.starts_with("名称"), "{}", errs[0].message);
    assert!(errs[0].message.contains('('));
    let app = field_errors_to_app(&errs);
    assert_eq!(app.status(), 400);
    assert!(app.to_string().starts_with("name: "), "{app}");
    assert!(app.to_string().contains("industry: "), "{app}");
}

#[test]
fn resident_id_check_digit() {
    assert!(is_valid_resident_id("11010519491231002X"));
    assert!(!is_valid_resident_id("11010519491231002x"));
    assert!(!is_valid_resident_id("110105194912310020"));
    assert!(!is_valid_resident_id("1101051949123100A2"));
}

#[test]
fn capital_in_yuan_or_wan() {
    assert_eq!(raw::parse_capital(""), Ok(None));
    assert_eq!(raw::parse_capital("500000"), Ok(Some(500_000)));
    assert_eq!(raw::parse_capital("500,000元"), Ok(Some(500_000)));
    assert_eq!(raw::parse_capital("50万"), Ok(Some(500_000)));
    assert_eq!(raw::parse_capital(" 12.5万元 "), Ok(Some(125_000)));
    assert_eq!(raw::parse_capital("0.0001万"), Ok(Some(1)));
    assert_eq!(raw::parse_capital("100.00"), Ok(Some(100)));
    assert!(raw::parse_capital("100.5").is_err());
    assert!(raw::parse_capital("0.00001万").is_err());
    assert!(raw::parse_capital("-5").is_err());
    assert!(raw::parse_capital("五十万").is_err());
    assert!(raw::parse_capital("99999999999999999999").is_err());
    assert!(raw::parse_capital("9223372036854775807万").is_err());
}

fn raw_of(e: &NewEntity) -> RawEntity {
    RawEntity {
        uscc: format!(" {} ", e.uscc.to_lowercase()),
        name: e.name.clone(),
        entity_type: "企业".into(),
        legal_rep: e.legal_rep.clone(),
        legal_rep_id: "11010519491231002x".into(),
        phone: e.phone.clone().unwrap_or_default(),
        capital: "100万".into(),
        established: "2020-05-17".into(),
        address: e.address.clone(),
        division: e.division.clone(),
        scope: e.scope.clone(),
        industry: e.industry.clone(),
        status: "存续".into(),
    }
}

#[test]
fn raw_rows_parse_into_new_entities() {
    let want = valid();
    assert_eq!(raw_of(&want).parse(), Ok(want.clone()));
    // Type from the code's digits, status active by default, empty optionals are none.
    let mut r = raw_of(&want);
    r.uscc = uscc(RegistrationType::IndividualBusiness, 3);
    r.entity_type = String::new();
    r.status = String::new();
    r.capital = String::new();
    r.legal_rep_id = " ".into();
    r.phone = String::new();
    let e = r.parse().unwrap();
    assert_eq!(e.entity_type, EntityType::IndividualBusiness);
    assert_eq!(e.status, Status::Active);
    assert_eq!(
        (e.capital_yuan, e.legal_rep_id, e.phone),
        (None, None, None)
    );
}

#[test]
fn raw_rows_report_every_bad_field_once() {
    let mut r = raw_of(&valid());
    r.entity_type = "公司".into();
    r.capital = "很多".into();
    r.established = "2020/05/17".into();
    r.status = "营业中".into();
    r.division = "999999".into();
    let errs = r.parse().unwrap_err();
    let f: Vec<&str> = errs.iter().map(|e| e.field).collect();
    assert_eq!(
        f,
        [
            "entity_type",
            "capital",
            "established",
            "division",
            "status"
        ]
    );
    let mut r = raw_of(&valid());
    r.uscc = uscc(RegistrationType::IndividualBusiness, 4);
    r.entity_type = String::new();
    let f: Vec<&str> = r.parse().unwrap_err().iter().map(|e| e.field).collect();
    assert_eq!(f, ["capital"]);
    let r = RawEntity::default();
    let f: Vec<&str> = r.parse().unwrap_err().iter().map(|e| e.field).collect();
    assert_eq!(
        f,
        [
            "uscc",
            "name",
            "entity_type",
            "legal_rep",
            "established",
            "address",
            "division",
            "industry"
        ]
    );
}

#[test]
fn masking_follows_the_publicity_rule() {
    assert_eq!(mask_name("张三丰"), "张**");
    assert_eq!(mask_name("欧阳娜娜"), "欧***");
    assert_eq!(mask_name("李四"), "李*");
    assert_eq!(mask_name("王"), "*");
    assert_eq!(mask_name(""), "");
    let now = Utc::now();
    let ent = Entity::from_new(valid(), now, now);
    let p = PublicEntity::from(&ent);
    assert_eq!(p.legal_rep, "张三丰");
    assert_eq!(p.division_name, "山东省济南市历下区解放路街道");
    assert_eq!(p.industry_name, "应用软件开发");
    assert_eq!(p.entity_type_name, "企业");
    let json = serde_json::to_string(&p).unwrap();
    assert!(!json.contains("11010519491231002X"), "{json}");
    assert!(!json.contains("88888888"), "{json}");
    assert!(
        !json.contains("legal_rep_id") && !json.contains("phone"),
        "{json}"
    );
    assert_eq!(amr_kernel::events::find_personal_data(&json), None);
    let mut ib = valid();
    ib.entity_type = EntityType::IndividualBusiness;
    let ib = Entity::from_new(ib, now, now);
    assert_eq!(PublicEntity::from(&ib).legal_rep, "张**");
    let o = OfficerEntity::from(&ib);
    assert_eq!(o.legal_rep, "张三丰");
    assert_eq!(o.legal_rep_id.as_deref(), Some("11010519491231002X"));
    assert_eq!(Entity::from_new(ib.to_new(), now, now), ib);
}
