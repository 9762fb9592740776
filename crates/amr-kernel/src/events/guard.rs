//! A last line of defence: public payloads must not carry personal data.
//!
//! Producers decide what they publish; this check refuses a public event whose payload holds
//! something shaped like a mainland resident ID number (18 characters with a valid GB 11643
//! check digit) or a mainland mobile number (11 digits starting 13–19), so a mistake in a
//! producer fails loudly instead of leaking.

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// Returns a description of the first personal datum found in the strings of a JSON value,
/// if any. Numbers are not looked at: an amount of money is not a phone number.
pub fn find_personal_data_in(value: &serde_json::Value) -> Option<&'static str> {
    match value {
        serde_json::Value::String(s) => find_personal_data(s),
        serde_json::Value::Array(items) => items.iter().find_map(find_personal_data_in),
        serde_json::Value::Object(map) => map
            .iter()
            .find_map(|(k, v)| find_personal_data(k).or_else(|| find_personal_data_in(v))),
        _ => None,
    }
}

/// Returns a description of the first personal datum found in `text`, if any.
pub fn find_personal_data(text: &str) -> Option<&'static str> {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let run = &b[start..i];
        let x_follows = i < b.len() && (b[i] == b'X' || b[i] == b'x');
        if run.len() == 17 && x_follows && is_resident_id(&b[start..=i]) {
            return Some("a resident ID number");
        }
        // A run that is a valid credit code is public information, not an ID number.
        if run.len() == 18 && is_resident_id(run) && !crate::codes::uscc::Uscc::is_valid(run) {
            return Some("a resident ID number");
        }
        if run.len() == 11 && run[0] == b'1' && (b'3'..=b'9').contains(&run[1]) {
            return Some("a mobile phone number");
        }
    }
    None
}

fn is_resident_id(code: &[u8]) -> bool {
    if code.len() != 18 {
        return false;
    }
    // Province 11..=82 and a plausible birth date YYYYMMDD at positions 7..=14: this keeps
    // all-digit credit codes and other long numbers from being mistaken for ID numbers.
    let num = |r: std::ops::Range<usize>| -> u32 {
        code[r]
            .iter()
            .fold(0, |acc, c| acc * 10 + u32::from(c - b'0'))
    };
    let (province, year, month, day) = (num(0..2), num(6..10), num(10..12), num(12..14));
    if !(11..=82).contains(&province)
        || !(1900..=2099).contains(&year)
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
    {
        return false;
    }
    let sum: u32 = code[..17]
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(c, w)| u32::from(c - b'0') * w)
        .sum();
    ID_CHECK[(sum % 11) as usize] == code[17].to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_id_numbers_and_phones() {
        // A syntactically valid ID number (check digit computed per GB 11643).
        assert_eq!(
            find_personal_data(r#"{"id":"11010519491231002X"}"#),
            Some("a resident ID number")
        );
        assert_eq!(
            find_personal_data(r#"{"tel":"13812345678"}"#),
            Some("a mobile phone number")
        );
    }

    #[test]
    fn json_numbers_are_not_phone_numbers() {
        let v = serde_json::json!({"capital_yuan": 15_000_000_000_i64, "n": [13812345678_i64]});
        assert_eq!(find_personal_data_in(&v), None);
        let v = serde_json::json!({"contact": {"tel": ["13812345678"]}});
        assert_eq!(find_personal_data_in(&v), Some("a mobile phone number"));
    }

    #[test]
    fn lets_codes_and_timepoints_through() {
        assert_eq!(find_personal_data(r#"{"uscc":"914403001922038216"}"#), None);
        // Every generated all-digit credit code passes, whatever its digits.
        let mut rng = rand::rng();
        for _ in 0..2000 {
            let u = crate::codes::uscc::Uscc::generate(
                crate::codes::uscc::RegistrationType::Enterprise,
                "370102",
                &mut rng,
            )
            .unwrap();
            let json = format!(r#"{{"uscc":"{}"}}"#, u.as_str());
            assert_eq!(find_personal_data(&json), None, "{json}");
        }
        assert_eq!(
            find_personal_data(r#"{"division":"370102","n":12345678901234}"#),
            None
        );
        assert_eq!(find_personal_data(r#"{"landline":"0531-12345678"}"#), None);
    }
}
