//! The address parser must never panic: any bytes (as lossy UTF-8), with or without a hint.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (hint, text) = match data.split_first() {
        // The first byte chooses a hint: none, or one of a few division codes at every level.
        Some((&b, rest)) => {
            let hint = match b % 8 {
                0 => Some("37"),
                1 => Some("3701"),
                2 => Some("370102"),
                3 => Some("370102004"),
                4 => Some("11"),
                5 => Some("99x"),
                _ => None,
            };
            (hint, rest)
        }
        None => (None, data),
    };
    let text = String::from_utf8_lossy(text);
    let a = amr_address::parse(&text, hint);
    assert!((0.0..=1.0).contains(&a.confidence));
    let _ = debug_len(&a);
});

fn debug_len(a: &amr_address::ParsedAddress) -> usize {
    format!("{a:?}").len()
}
