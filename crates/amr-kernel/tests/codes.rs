//! Integration and property tests of codes, divisions and the calendar.

use amr_kernel::calendar::{Calendar, CalendarError};
use amr_kernel::codes::{
    self, CodeError, DivisionError, Jurisdiction, Level, OrgCode, RegistrationType, Uscc, divisions,
};
use chrono::{Datelike, Days, NaiveDate};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Published valid codes (DOMAIN.md §1).
const VALID: [&str; 6] = [
    "914403001922038216",
    "91440300708461136T",
    "91520000214434146R",
    "91110108551385082Q",
    "91310110666007217T",
    "91371082775260043P",
];

const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

// ---------------------------------------------------------------- codes

#[test]
fn published_vectors() {
    for c in VALID {
        let r = codes::check(c);
        assert!(r.valid, "{c}: {:?}", r.reason);
        assert_eq!(r.kind, "uscc");
        let u = Uscc::parse(c).unwrap();
        assert!(OrgCode::parse(u.org_code().as_str()).is_ok());
    }
    let r = codes::check("91350100M000100Y4Z");
    assert_eq!(r.error, Some("check_digit"));
    assert_eq!(
        Uscc::parse("91350100M000100Y4Z"),
        Err(CodeError::CheckDigit {
            expected: '3',
            actual: 'Z'
        })
    );
    assert!(codes::check("91350100M000100Y43").valid);
    let r = codes::check("91110000800088421P");
    assert!(!r.valid);
    assert_eq!(r.error, Some("check_digit"));
}

#[test]
fn check_report_json_shape() {
    let v = serde_json::to_value(codes::check(" 91350100m000100y4z ")).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "code": "91350100m000100y4z",
            "valid": false,
            "kind": "uscc",
            "reason": "校验码错误：应为 3，实为 Z (check digit mismatch: expected 3, got Z)",
            "error": "check_digit",
        })
    );
}

fn registration_type() -> impl Strategy<Value = RegistrationType> {
    prop_oneof![
        Just(RegistrationType::Enterprise),
        Just(RegistrationType::IndividualBusiness),
        Just(RegistrationType::FarmerCooperative),
    ]
}

/// A county-level code picked from the table.
fn county() -> impl Strategy<Value = &'static str> {
    let counties: Vec<&'static str> = divisions()
        .iter()
        .filter(|d| d.level == Level::County)
        .map(|d| d.code)
        .collect();
    proptest::sample::select(counties)
}

fn generated() -> impl Strategy<Value = Uscc> {
    (registration_type(), county(), any::<u64>()).prop_map(|(t, div, seed)| {
        Uscc::generate(t, div, &mut StdRng::seed_from_u64(seed)).expect("known division")
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn generated_codes_are_valid(u in generated()) {
        let s = u.as_str();
        prop_assert!(Uscc::is_valid(s.as_bytes()));
        prop_assert_eq!(Uscc::parse(s), Ok(u));
        prop_assert!(OrgCode::is_valid(&s.as_bytes()[8..17]));
        let org = u.org_code();
        prop_assert_eq!(org.as_str(), &s[8..17]);
        prop_assert!(s.bytes().all(|b| ALPHABET.as_bytes().contains(&b)));
        prop_assert!(divisions().get(u.division_code()).is_some());
    }

    #[test]
    fn any_single_substitution_is_detected(
        u in generated(),
        pos in 0usize..18,
        c in proptest::char::range('!', '~'),
    ) {
        let orig = u.as_str().as_bytes()[pos];
        prop_assume!(c.to_ascii_uppercase() != char::from(orig));
        let mut s = u.as_str().to_owned();
        s.replace_range(pos..pos + 1, &c.to_string());
        prop_assert!(Uscc::parse(&s).is_err(), "{} accepted", s);
        prop_assert!(!Uscc::is_valid(s.as_bytes()));
    }

    #[test]
    fn case_and_surrounding_whitespace_are_normalized(
        u in generated(),
        lower in proptest::collection::vec(any::<bool>(), 18),
        pre in "[ \t\r\n]{0,3}",
        post in "[ \t\r\n\u{3000}]{0,3}",
    ) {
        let mixed: String = u
            .as_str()
            .chars()
            .zip(&lower)
            .map(|(c, &l)| if l { c.to_ascii_lowercase() } else { c })
            .collect();
        prop_assert_eq!(Uscc::parse(&format!("{pre}{mixed}{post}")), Ok(u));
        prop_assert!(Uscc::is_valid(mixed.as_bytes()));
        let inner = format!("{} {}", &mixed[..9], &mixed[9..]);
        prop_assert!(Uscc::parse(&inner).is_err());
    }

    #[test]
    fn fast_path_agrees_with_validate(s in "[0-9A-Za-z#]{18}") {
        prop_assert_eq!(Uscc::is_valid(s.as_bytes()), Uscc::validate(&s).is_ok());
    }

    #[test]
    fn fast_path_agrees_on_near_valid_codes(u in generated(), pos in 0usize..18, k in 0usize..31) {
        let mut b = u.as_str().as_bytes().to_vec();
        b[pos] = ALPHABET.as_bytes()[k];
        let s = String::from_utf8(b).unwrap();
        prop_assert_eq!(Uscc::is_valid(s.as_bytes()), Uscc::validate(&s).is_ok());
    }

    #[test]
    fn org_codes_round_trip(body in "[0-9A-Z]{8}", pos in 0usize..8, digit in 0u8..10) {
        let code = OrgCode::from_body(&body).unwrap();
        prop_assert_eq!(OrgCode::parse(&code.hyphenated()), Ok(code));
        prop_assert!(OrgCode::is_valid(code.as_str().as_bytes()));
        // GB 11714 (mod 11) detects a change of a digit into another digit.
        let orig = code.as_str().as_bytes()[pos];
        let c = b'0' + digit;
        if orig.is_ascii_digit() && c != orig {
            let mut b = code.as_str().as_bytes().to_vec();
            b[pos] = c;
            prop_assert!(!OrgCode::is_valid(&b));
            prop_assert_eq!(OrgCode::validate(std::str::from_utf8(&b).unwrap()).unwrap_err().code(), "check_digit");
        }
    }
}

// ---------------------------------------------------------------- divisions

#[test]
fn shandong() {
    let t = divisions();
    let sd = t.get("37").unwrap();
    assert_eq!(sd.name, "山东省");
    assert_eq!(sd.level, Level::Province);
    let cities: Vec<_> = t.children("37").collect();
    assert_eq!(cities.len(), 16);
    assert!(cities.iter().all(|c| c.level == Level::Prefecture));
    assert!(t.get("3712").is_none()); // 莱芜, merged into 济南
    let lixia = t.get("370102").unwrap();
    assert_eq!(lixia.name, "历下区");
    assert_eq!(lixia.parent, Some("3701"));
    assert_eq!(t.parent("370102").unwrap().name, "济南市");
    let towns = t
        .iter()
        .filter(|d| d.level == Level::Town && d.code.starts_with("37"))
        .count();
    assert_eq!(towns, 1853);
    let counties = t
        .iter()
        .filter(|d| d.level == Level::County && d.code.starts_with("37"))
        .count();
    assert_eq!(counties, 151);
}

#[test]
fn table_counts_and_lookup_forms() {
    let t = divisions();
    assert_eq!(t.len(), 31 + 342 + 2978 + 41352);
    assert_eq!(t.children("").count(), 31);
    for (input, code) in [
        ("37", "37"),
        ("370000", "37"),
        ("3701", "3701"),
        ("370100", "3701"),
        ("370102", "370102"),
        ("370102001", "370102001"),
        (" 370102 ", "370102"),
        ("441900", "441900"), // 东莞市 has a county-level row of its own
    ] {
        assert_eq!(t.get(input).map(|d| d.code), Some(code), "{input}");
    }
    for bad in [
        "",
        "3",
        "370",
        "37010",
        "3701020",
        "379900",
        "37a102",
        "370102000001",
    ] {
        assert!(t.get(bad).is_none(), "{bad}");
    }
    let path: Vec<_> = t.path("370102001").iter().map(|d| d.code).collect();
    assert_eq!(path, ["37", "3701", "370102", "370102001"]);
    assert!(t.path("99").is_empty());
    assert!(
        t.children("370102")
            .all(|d| d.level == Level::Town && d.parent == Some("370102"))
    );
}

#[test]
fn names() {
    let t = divisions();
    let codes = |n: &str| t.find_by_name(n).iter().map(|d| d.code).collect::<Vec<_>>();
    assert_eq!(codes("历下"), ["370102"]);
    assert_eq!(codes("历下区"), ["370102"]);
    assert!(codes("济南").contains(&"3701"));
    assert!(codes("济南市").contains(&"3701"));
    assert_eq!(codes("山东"), ["37"]);
    assert_eq!(codes("内蒙古"), ["15"]);
    assert!(codes("鼓楼区").len() >= 4);
    assert!(codes("不存在的地方").is_empty());
    assert_eq!(t.full_name("370102").unwrap(), "山东省济南市历下区");
    assert_eq!(t.full_name("110101").unwrap(), "北京市东城区");
    assert_eq!(t.full_name("1101").unwrap(), "北京市市辖区");
    assert_eq!(t.full_name("441900").unwrap(), "广东省东莞市");
    assert!(t.get("1101").unwrap().is_grouping());
    assert!(!t.get("3701").unwrap().is_grouping());
}

#[test]
fn jurisdictions() {
    let all = Jurisdiction::parse("").unwrap();
    assert_eq!(all, Jurisdiction::all());
    assert_eq!(Jurisdiction::parse(" * ").unwrap(), all);
    assert_eq!(all.prefix(), "");
    assert_eq!(all.display_name(), "全国");
    let sd = Jurisdiction::parse("370000").unwrap();
    let jn = Jurisdiction::parse("370100").unwrap();
    let lx = Jurisdiction::parse("370102").unwrap();
    let town = Jurisdiction::parse("370102001").unwrap();
    assert_eq!(
        (sd.prefix(), jn.prefix(), lx.prefix()),
        ("37", "3701", "370102")
    );
    assert_eq!(Jurisdiction::parse("37").unwrap(), sd);
    assert_eq!(lx.display_name(), "山东省济南市历下区");
    assert_eq!(town.prefix(), "370102001");
    assert!(jn.contains("370102"));
    assert!(jn.contains("370102001"));
    assert!(jn.contains("370102001001"));
    assert!(jn.contains("370100"));
    assert!(!jn.contains("370000"));
    assert!(!jn.contains("370202"));
    assert!(!jn.contains("37010x"));
    assert!(!lx.contains("370100"));
    assert!(all.contains("110101") && !all.contains("abc"));
    assert!(town.is_within(&lx) && lx.is_within(&jn) && jn.is_within(&sd) && sd.is_within(&all));
    assert!(lx.is_within(&lx));
    assert!(!sd.is_within(&jn) && !all.is_within(&sd));
    assert_eq!(
        Jurisdiction::parse("379999"),
        Err(DivisionError::NotFound("379999".into()))
    );
    let e = Jurisdiction::parse("37x").unwrap_err();
    assert_eq!(e, DivisionError::Malformed("37x".into()));
    assert!(e.to_string().contains("37x") && e.to_string().starts_with("行政区划"));
    assert_eq!(serde_json::to_string(&lx).unwrap(), "\"370102\"");
    assert_eq!(
        serde_json::from_str::<Jurisdiction>("\"370100\"").unwrap(),
        jn
    );
}

// ---------------------------------------------------------------- calendar

#[test]
fn calendar_2026_schedule() {
    let c = Calendar::embedded();
    let w = |s: &str| c.is_working_day(d(s)).unwrap();
    // DOMAIN.md §10: days off and make-up workdays of 2026.
    for off in [
        "2026-01-01",
        "2026-01-03",
        "2026-02-15",
        "2026-02-16",
        "2026-02-23",
        "2026-04-06",
        "2026-05-05",
        "2026-06-19",
        "2026-09-25",
        "2026-10-01",
        "2026-10-07",
    ] {
        assert!(!w(off), "{off}");
    }
    for on in [
        "2026-01-04",
        "2026-02-14",
        "2026-02-28",
        "2026-05-09",
        "2026-09-20",
        "2026-10-10",
    ] {
        assert!(w(on), "{on}");
    }
    // 10-08 is the Thursday after the National Day break: a working day.
    assert!(w("2026-10-08"));
    assert_eq!(c.add_working_days(d("2026-09-30"), 1), Ok(d("2026-10-08")));
    assert_eq!(c.add_working_days(d("2026-09-30"), 3), Ok(d("2026-10-10")));
    assert_eq!(c.add_working_days(d("2026-09-30"), 4), Ok(d("2026-10-12")));
    assert_eq!(
        c.working_days_between(d("2026-01-01"), d("2026-12-31"))
            .unwrap(),
        248
    );
    assert_eq!(
        c.is_working_day(d("2027-01-04")),
        Err(CalendarError::YearNotLoaded(2027))
    );
}

fn naive_working(c: &Calendar, day: NaiveDate) -> bool {
    use amr_kernel::calendar::DayKind;
    match c.entry(day).map(|e| e.kind) {
        Some(DayKind::Holiday) => false,
        Some(DayKind::Workday) => true,
        None => day.weekday().number_from_monday() <= 5,
    }
}

fn date_2004_2026() -> impl Strategy<Value = NaiveDate> {
    (0u64..8401).prop_map(|k| d("2004-01-01") + Days::new(k))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn add_then_count_gives_n(day in date_2004_2026(), n in 0u32..400) {
        let c = Calendar::embedded();
        match c.add_working_days(day, n) {
            Ok(end) => {
                prop_assert_eq!(c.working_days_between(day, end), Ok(i64::from(n)));
                prop_assert_eq!(c.working_days_between(end, day), Ok(-i64::from(n)));
                if n > 0 {
                    prop_assert!(c.is_working_day(end).unwrap());
                    prop_assert!(end > day);
                    // and it is the first such day: the day before holds n - 1
                    let before = end.pred_opt().unwrap();
                    prop_assert_eq!(c.working_days_between(day, before), Ok(i64::from(n) - 1));
                } else {
                    prop_assert_eq!(end, day);
                }
            }
            Err(e) => prop_assert_eq!(e, CalendarError::YearNotLoaded(2027)),
        }
    }

    #[test]
    fn matches_day_by_day_model(a in date_2004_2026(), span in 0u64..800) {
        let c = Calendar::embedded();
        let b = a + Days::new(span);
        prop_assume!(b.year() <= 2026);
        let naive = a.iter_days().skip(1).take_while(|x| *x <= b).filter(|x| naive_working(c, *x)).count();
        prop_assert_eq!(c.working_days_between(a, b), Ok(naive as i64));
        prop_assert_eq!(c.is_working_day(b), Ok(naive_working(c, b)));
    }
}
