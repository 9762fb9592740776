//! Licence tags derived by rule. There is no licence register in AMR yet, so the licences an
//! entity holds are inferred from its industry class (GB/T 4754-2017) and type: a food
//! retailer or restaurant is taken to hold a 食品经营许可证, a pharmacy a 药品经营许可证, and so
//! on. This table stands in for a licence register; when one exists, its holdings replace
//! these rules (the draw reads `licence:…` tags either way).
//!
//! The rules are configuration, applied on read: changing [`RULES`] changes the tags of every
//! entity at the next freeze, nothing stored needs rewriting.

/// One rule: entities whose 4-digit class code starts with one of `prefixes` (and whose type
/// is one of `types`, when given) hold `licence`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LicenceRule {
    pub licence: &'static str,
    pub prefixes: &'static [&'static str],
    /// Entity types the rule applies to; empty = every type.
    pub types: &'static [&'static str],
}

/// The rule table.
pub const RULES: &[LicenceRule] = &[
    // 食品经营: food, beverage and tobacco retail (522), supermarkets and department stores
    // (5211, 5212), food wholesale (512), catering (62).
    LicenceRule {
        licence: "licence:食品经营许可证",
        prefixes: &["522", "5211", "5212", "512", "62"],
        types: &[],
    },
    // 食品生产: agricultural food processing (13), food manufacturing (14), beverages (15).
    LicenceRule {
        licence: "licence:食品生产许可证",
        prefixes: &["13", "14", "15"],
        types: &[],
    },
    // 药品经营: medicines wholesale and retail (5151, 5152, 5251, 5252).
    LicenceRule {
        licence: "licence:药品经营许可证",
        prefixes: &["5151", "5152", "5251", "5252"],
        types: &[],
    },
    // 药品生产: pharmaceutical manufacturing (27, except veterinary drugs 275).
    LicenceRule {
        licence: "licence:药品生产许可证",
        prefixes: &["271", "272", "273", "274", "276", "277", "278"],
        types: &[],
    },
    // 烟草专卖零售: tobacco sold in food and tobacco shops and convenience stores.
    LicenceRule {
        licence: "licence:烟草专卖零售许可证",
        prefixes: &["5223", "5211", "5212"],
        types: &[],
    },
    // 特种设备使用登记: users of boilers, lifts, pressure vessels and rides — hotels (61),
    // department stores (5211), amusement parks (902), chemical plants (26), gas supply (45),
    // heat and power (44), fuel retail (5265, 5266).
    LicenceRule {
        licence: "licence:特种设备使用登记证",
        prefixes: &["61", "5211", "902", "26", "44", "45", "5265", "5266"],
        types: &["enterprise", "branch"],
    },
    // 危险化学品经营: chemical and fuel wholesale (5162, 5169) and fuel retail (5265, 5266).
    LicenceRule {
        licence: "licence:危险化学品经营许可证",
        prefixes: &["5162", "5169", "5265", "5266"],
        types: &[],
    },
    // 卫生许可 for public places: hotels (61), hairdressing and beauty (804), baths (805).
    LicenceRule {
        licence: "licence:公共场所卫生许可证",
        prefixes: &["61", "804", "805"],
        types: &[],
    },
    // 道路运输经营: road transport (54).
    LicenceRule {
        licence: "licence:道路运输经营许可证",
        prefixes: &["54"],
        types: &[],
    },
    // 娱乐经营 and 网络文化经营: entertainment venues (901).
    LicenceRule {
        licence: "licence:娱乐经营许可证",
        prefixes: &["901"],
        types: &[],
    },
];

/// The licence tags the rules give an entity of this class and type, sorted, no duplicates.
pub fn derived_tags(industry: &str, entity_type: &str) -> Vec<String> {
    let mut out: Vec<String> = RULES
        .iter()
        .filter(|r| r.types.is_empty() || r.types.contains(&entity_type))
        .filter(|r| r.prefixes.iter().any(|p| industry.starts_with(p)))
        .map(|r| r.licence.to_string())
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restaurants_pharmacies_and_hotels_get_their_licences() {
        assert_eq!(
            derived_tags("6210", "individual"),
            vec!["licence:食品经营许可证"]
        );
        assert_eq!(
            derived_tags("5251", "enterprise"),
            vec!["licence:药品经营许可证"]
        );
        assert_eq!(
            derived_tags("6110", "enterprise"),
            vec!["licence:公共场所卫生许可证", "licence:特种设备使用登记证"]
        );
        // Special equipment users are enterprises; an individual hostel is not counted.
        assert_eq!(
            derived_tags("6110", "individual"),
            vec!["licence:公共场所卫生许可证"]
        );
        assert!(derived_tags("7212", "enterprise").is_empty());
        let t = derived_tags("5211", "enterprise");
        let mut sorted = t.clone();
        sorted.sort();
        assert_eq!(t, sorted);
        assert!(t.contains(&"licence:烟草专卖零售许可证".to_string()));
    }

    #[test]
    fn every_rule_names_a_licence_tag_and_class_prefixes() {
        for r in RULES {
            assert!(r.licence.starts_with("licence:"), "{}", r.licence);
            assert!(!r.prefixes.is_empty());
            for p in r.prefixes {
                assert!((2..=4).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
            }
        }
    }
}
