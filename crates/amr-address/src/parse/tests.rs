use super::*;

fn p(s: &str) -> ParsedAddress {
    parse(s, None)
}

fn divs(a: &ParsedAddress) -> [Option<&str>; 5] {
    [
        a.province.as_deref(),
        a.city.as_deref(),
        a.county.as_deref(),
        a.county_code.as_deref(),
        a.town.as_deref(),
    ]
}

#[test]
fn the_issue_example() {
    let a = p("历下区泉城路180号齐鲁国际大厦10楼");
    assert_eq!(
        divs(&a),
        [
            Some("山东省"),
            Some("济南市"),
            Some("历下区"),
            Some("370102"),
            None
        ]
    );
    assert_eq!(a.road.as_deref(), Some("泉城路"));
    assert_eq!(a.road_no.as_deref(), Some("180号"));
    assert_eq!(a.poi.as_deref(), Some("齐鲁国际大厦"));
    assert_eq!(a.floor.as_deref(), Some("10"));
    assert_eq!(
        a.normalized.as_deref(),
        Some("山东省济南市历下区泉城路180号齐鲁国际大厦10层")
    );
    assert!(a.ambiguities.is_empty());
    assert!(a.confidence > 0.9, "{}", a.confidence);
}

#[test]
fn json_has_every_field_with_nulls() {
    let v = serde_json::to_value(p("")).unwrap();
    for k in [
        "input",
        "province",
        "city",
        "county",
        "town",
        "county_code",
        "town_code",
        "village",
        "road",
        "road_no",
        "poi",
        "building",
        "unit",
        "floor",
        "room",
        "normalized",
        "confidence",
    ] {
        assert!(v.get(k).is_some(), "{k} missing");
    }
    assert!(v["county"].is_null());
    assert_eq!(v["confidence"], 0.0);
}

#[test]
fn upper_levels_come_from_lower_ones() {
    let a = p("泉城路街道泉城路1号");
    assert_eq!(a.town.as_deref(), Some("泉城路街道"));
    assert_eq!(a.town_code.as_deref(), Some("370102004"));
    assert_eq!(a.county_code.as_deref(), Some("370102"));
    assert_eq!(a.province.as_deref(), Some("山东省"));
    assert_eq!(a.road.as_deref(), Some("泉城路"));
}

#[test]
fn short_forms() {
    for s in [
        "山东济南历下泉城路180号",
        "山东省济南历下区泉城路180号",
        "济南市历下泉城路180号",
    ] {
        let a = p(s);
        assert_eq!(a.county_code.as_deref(), Some("370102"), "{s}");
        assert_eq!(a.city.as_deref(), Some("济南市"), "{s}");
    }
    let a = p("内蒙古呼和浩特市新城区");
    assert_eq!(a.province.as_deref(), Some("内蒙古自治区"));
    assert_eq!(a.county_code.as_deref(), Some("150102"));
    let a = p("广西南宁青秀区民族大道100号");
    assert_eq!(a.province.as_deref(), Some("广西壮族自治区"));
    assert_eq!(a.county_code.as_deref(), Some("450103"));
    // Informal names of autonomous divisions.
    let a = p("云南省红河州蒙自市");
    assert_eq!(a.city.as_deref(), Some("红河哈尼族彝族自治州"));
    let a = p("重庆市酉阳县钟多街道");
    assert_eq!(a.county.as_deref(), Some("酉阳土家族苗族自治县"));
    // A short form with another suffix: 富阳市 became 富阳区 in 2014.
    let a = p("浙江省杭州市富阳市富春街道");
    assert_eq!(a.county.as_deref(), Some("富阳区"));
    assert_eq!(a.town_code.as_deref(), Some("330111001"));
}

#[test]
fn a_road_named_after_a_place_is_a_road() {
    let a = p("青岛市市南区山东路10号");
    assert_eq!(a.county_code.as_deref(), Some("370202"));
    assert_eq!(a.road.as_deref(), Some("山东路"));
    assert_eq!(a.province.as_deref(), Some("山东省"));
    let a = p("杭州市西湖区学院路208号");
    assert_eq!(a.county_code.as_deref(), Some("330106"));
    assert_eq!(a.road.as_deref(), Some("学院路"));
}

#[test]
fn municipalities() {
    let a = p("北京市朝阳区建国路88号SOHO现代城B座1203室");
    assert_eq!(a.province.as_deref(), Some("北京市"));
    assert_eq!(a.city.as_deref(), Some("北京市"));
    assert_eq!(a.county_code.as_deref(), Some("110105"));
    assert_eq!(a.building.as_deref(), Some("B座"));
    assert_eq!(a.room.as_deref(), Some("1203"));
    assert_eq!(
        a.normalized.as_deref(),
        Some("北京市朝阳区建国路88号SOHO现代城B座1203室")
    );
}

#[test]
fn merged_and_renamed_divisions() {
    // 莱芜市 became part of 济南市 in 2019; 莱城区 is now 莱芜区.
    let a = p("莱芜市钢城区艾山街道");
    assert_eq!(a.city.as_deref(), Some("莱芜市"));
    assert_eq!(a.county_code.as_deref(), Some("370117"));
    assert_eq!(a.town_code.as_deref(), Some("370117001"));
    assert!(
        a.normalized
            .as_deref()
            .unwrap()
            .starts_with("山东省济南市钢城区")
    );
    assert_eq!(a.former.len(), 1);
    assert_eq!(a.former[0].name, "莱芜市");
    assert_eq!(a.former[0].year, 2019);
    let a = p("莱城区凤城街道");
    assert_eq!(a.county.as_deref(), Some("莱城区"));
    assert_eq!(a.county_code.as_deref(), Some("370116"));
    assert_eq!(a.city_code.as_deref(), Some("3701"));
    // 襄樊 → 襄阳 (2010).
    let a = p("襄樊市樊城区人民路1号");
    assert_eq!(a.county_code.as_deref(), Some("420606"));
    assert!(
        a.normalized
            .as_deref()
            .unwrap()
            .starts_with("湖北省襄阳市樊城区")
    );
    // 江干区 was abolished in 2021: the name is kept, the code is today's, and a town under
    // the secondary successor (下沙 went to 钱塘区) picks that one.
    let a = p("杭州市江干区凯旋街道凯旋路1号");
    assert_eq!(a.county.as_deref(), Some("江干区"));
    assert_eq!(a.county_code.as_deref(), Some("330102"));
    assert_eq!(a.former[0].code, "330102");
    let a = p("杭州市江干区下沙街道文渊路1号");
    assert_eq!(a.county.as_deref(), Some("江干区"));
    assert_eq!(a.county_code.as_deref(), Some("330114"));
    // Both names of one division: the current one wins.
    let a = p("浙江省绍兴市绍兴县柯桥区钱清镇");
    assert_eq!(a.county.as_deref(), Some("柯桥区"));
}

#[test]
fn full_width_noise_and_repeats() {
    let a = p("　山东省山东省 济南市（电联）历下区泉城路１８０号【齐鲁国际大厦】 手机:13912345678");
    assert_eq!(a.county_code.as_deref(), Some("370102"));
    assert_eq!(a.road_no.as_deref(), Some("180号"));
    assert_eq!(a.poi.as_deref(), Some("齐鲁国际大厦"));
    let a = p("浙江省杭州市余杭区杭州市余杭区闲林街道五常大道翡翠城竹苑");
    assert_eq!(a.town.as_deref(), Some("闲林街道"));
    assert_eq!(a.road.as_deref(), Some("五常大道"));
    assert_eq!(a.poi.as_deref(), Some("翡翠城竹苑"));
    let a = p("浙江省-金华市-义乌稠城街道");
    assert_eq!(a.county_code.as_deref(), Some("330782"));
}

#[test]
fn chinese_numerals_are_normalized() {
    let a = p("济南市历下区文化东路一百零三号三号楼三单元十二楼一二零三室");
    assert_eq!(a.road_no.as_deref(), Some("103号"));
    assert_eq!(a.building.as_deref(), Some("3号楼"));
    assert_eq!(a.unit.as_deref(), Some("3"));
    assert_eq!(a.floor.as_deref(), Some("12"));
    assert_eq!(a.room.as_deref(), Some("1203"));
    assert_eq!(
        a.normalized.as_deref(),
        Some("山东省济南市历下区文化东路103号3号楼3单元12层1203室")
    );
}

#[test]
fn ambiguity_unresolved_by_hint_and_by_context() {
    // 朝阳区: Beijing and Changchun.
    let a = p("朝阳区建国路88号");
    assert_eq!(a.county.as_deref(), Some("朝阳区"));
    assert_eq!(a.county_code, None);
    assert_eq!(a.province, None);
    assert_eq!(a.ambiguities.len(), 1);
    let amb = &a.ambiguities[0];
    assert_eq!(
        (amb.level.as_str(), amb.basis.as_str()),
        ("county", "unresolved")
    );
    let codes: Vec<&str> = amb.candidates.iter().map(|c| c.code.as_str()).collect();
    assert!(
        codes.contains(&"110105") && codes.contains(&"220104"),
        "{codes:?}"
    );
    assert_eq!(amb.chosen, None);

    let a = parse("朝阳区建国路88号", Some("22"));
    assert_eq!(a.county_code.as_deref(), Some("220104"));
    assert_eq!(a.ambiguities[0].basis, "hint");
    assert_eq!(a.ambiguities[0].chosen.as_deref(), Some("220104"));

    let a = p("朝阳区望京街道");
    assert_eq!(a.county_code.as_deref(), Some("110105"));
    assert_eq!(a.ambiguities[0].basis, "context");

    // Named upper levels settle it without any report.
    let a = p("吉林省长春市朝阳区");
    assert_eq!(a.county_code.as_deref(), Some("220104"));
    assert!(a.ambiguities.is_empty());
}

#[test]
fn the_hint_fills_what_the_address_leaves_out() {
    let a = parse("泉城路180号", Some("370102"));
    assert_eq!(a.county_code.as_deref(), Some("370102"));
    assert_eq!(a.city.as_deref(), Some("济南市"));
    assert!(a.from_hint);
    let a = parse("济南市泉城路180号", Some("370102"));
    assert_eq!(a.county_code.as_deref(), Some("370102"));
    // The address wins over a hint it contradicts; an unknown hint is ignored.
    let a = parse("杭州市西湖区", Some("370102"));
    assert_eq!(a.county_code.as_deref(), Some("330106"));
    assert!(!a.from_hint);
    let a = parse("杭州市西湖区", Some("99"));
    assert_eq!(a.county_code.as_deref(), Some("330106"));
}

#[test]
fn towns_by_short_form_only_next_to_their_county() {
    let a = p("杭州市余杭区闲林五常大道1号");
    assert_eq!(a.town.as_deref(), Some("闲林街道"));
    // 西溪 is a street in 西湖区, but here it names an estate.
    let a = p("杭州市西湖区文三路西溪花园1幢");
    assert_eq!(a.town, None);
    assert_eq!(a.road.as_deref(), Some("文三路"));
}

#[test]
fn a_town_the_table_lacks_is_still_a_town() {
    let a = p("宁波市鄞州区某某镇工业路8号");
    assert_eq!(a.county_code.as_deref(), Some("330212"));
    assert_eq!(a.town.as_deref(), Some("某某镇"));
    assert_eq!(a.town_code, None);
}

/// One result reused from address to address (as `amr address parse` does) holds exactly what
/// a fresh parse gives, whatever the address before it left in it: ambiguities, former names,
/// a town the table lacks, every detail field, a hint, nothing at all.
#[test]
fn a_reused_result_is_a_fresh_one() {
    let addresses = [
        "历下区泉城路180号齐鲁国际大厦10楼",
        "",
        "朝阳区建国路88号",
        "江干区下沙街道文渊路1号",
        "浙江省杭州市滨江区缤纷北苑47-6-746",
        "花桥镇工业路8号3幢2单元501室",
        "山东省莱芜市莱城区凤城街道",
        "城关镇",
        "鼓楼区中山路1号B座12楼1203室(电联)",
        "襄樊市樊城区人民路一百零三号三单元十二楼",
        "XX镇YY村委会5组",
        "!!!",
    ];
    let mut reused = ParsedAddress::default();
    for hint in [None, Some("3301"), Some("3701")] {
        for a in addresses.iter().chain(addresses.iter().rev()) {
            super::parse_reusing(a, hint, &mut reused);
            assert_eq!(reused, parse(a, hint), "{a:?} with hint {hint:?}");
        }
    }
}

#[test]
fn garbage_gives_nulls_not_errors() {
    for s in ["", " ", "???", "1234567890", "abc", "（）", "号号号", "路"] {
        let a = p(s);
        assert_eq!(a.county, None, "{s}");
        assert_eq!(a.input, s);
    }
    let long = "山东省".repeat(2000);
    let a = p(&long);
    assert_eq!(a.province.as_deref(), Some("山东省"));
}

use proptest::prelude::Strategy;

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    #[test]
    fn never_panics(s in "\\PC{0,60}") {
        let a = parse(&s, None);
        proptest::prop_assert!((0.0..=1.0).contains(&a.confidence));
    }

    /// What [`ParsedAddress`] promises: no field but the input holds a character JSON
    /// escapes, whatever the input holds.
    #[test]
    fn the_parts_hold_no_character_json_escapes(
        parts in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::sample::select(vec![
                    "浙江省杭州市", "江干区", "下沙街道", "泉城路", "180号", "齐鲁大厦", "10楼",
                    "3单元", "1203室", "(", ")", "村", "镇", "\"", "\\", "\n", "\t", "\r",
                    "\u{0}", "\u{1b}", "\u{7f}", "\u{85}", "\u{2028}", "＂", "＼",
                ]).prop_map(str::to_owned),
                "[\\x00-\\x7f]{0,4}",
            ],
            0..14,
        ),
        hint in proptest::option::of(proptest::sample::select(vec!["3301", "3701", "33"])),
    ) {
        let s: String = parts.concat();
        let a = parse(&s, hint);
        let escaped = |t: &str| t.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\');
        let fields = [
            a.province.as_deref(), a.city.as_deref(), a.county.as_deref(), a.town.as_deref(),
            a.county_code.as_deref(), a.town_code.as_deref(), a.village.as_deref(),
            a.road.as_deref(), a.road_no.as_deref(), a.poi.as_deref(), a.building.as_deref(),
            a.unit.as_deref(), a.floor.as_deref(), a.room.as_deref(), a.normalized.as_deref(),
            a.province_code.as_deref(), a.city_code.as_deref(),
        ];
        for f in fields.into_iter().flatten() {
            proptest::prop_assert!(!escaped(f), "{:?} in the result of {:?}", f, s);
        }
    }

    #[test]
    fn never_panics_on_address_like_text(
        parts in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::sample::select(vec![
                    "山东省", "济南", "历下区", "朝阳区", "江干区", "莱芜市", "城关镇", "泉城路",
                    "一百零三号", "十二楼", "三单元", "（电联）", "（", "）", "-", "#", "号", "第",
                    "负", "１８０", "B座", "47-6-746", "街道", "村", "社区", "13912345678",
                ]).prop_map(str::to_owned),
                "[0-9A-Za-z\\-/#]{0,6}",
            ],
            0..12,
        ),
        hint in proptest::option::of("[0-9]{0,10}"),
    ) {
        let s: String = parts.concat();
        let a = parse(&s, hint.as_deref());
        proptest::prop_assert!((0.0..=1.0).contains(&a.confidence));
        let _ = serde_json::to_string(&a).unwrap();
    }
}

/// The composed name from a candidate's known ancestors is the one from a walk up the table,
/// for every division any name targets.
#[test]
fn full_names_from_known_ancestors_are_those_of_a_walk() {
    let idx = index::index();
    for t in idx.targets {
        assert_eq!(
            full_name_known(idx, t.div, &t.anc),
            full_name(idx, t.div),
            "{}",
            idx.code(t.div)
        );
    }
}
