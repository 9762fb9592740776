//! Cleaning before matching: full-width characters to half-width, whitespace and punctuation
//! out, noise out (contact notes in brackets, phone numbers, "中国" in front), letters upper
//! case; and Chinese numerals before a unit marker to Arabic digits (一百零三号 → 103号).

/// The cleaned text of an address.
#[cfg(test)]
pub(crate) fn clean(input: &str) -> Vec<char> {
    let mut out = Vec::new();
    clean_into(input, &mut out);
    out
}

/// The cleaned text of an address, into `out` (a buffer reused between addresses).
pub(crate) fn clean_into(input: &str, buf: &mut Vec<char>) {
    let mut chars = std::mem::take(buf);
    chars.clear();
    // Noted while copying, so that the passes below run only where they can change something.
    let (mut run, mut digits) = (0usize, 0usize);
    let (mut brackets, mut hash, mut lian) = (false, false, false);
    for c in input.chars() {
        if ('\u{4E00}'..='\u{9FFF}').contains(&c) {
            // Most of an address: a CJK ideograph, kept as it is (none of the cases below).
            lian |= c == '联';
            run = 0;
            chars.push(c);
            continue;
        }
        // Then ASCII digits and letters (numbers, building letters): kept, letters upper case.
        if c.is_ascii_digit() {
            run += 1;
            digits = digits.max(run);
            chars.push(c);
            continue;
        }
        if c.is_ascii_alphabetic() {
            run = 0;
            chars.push(c.to_ascii_uppercase());
            continue;
        }
        let c = match c as u32 {
            0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        };
        let c = match c {
            c if c.is_whitespace() || c.is_control() => continue,
            '\u{200B}'..='\u{200F}' | '\u{FEFF}' => continue,
            'a'..='z' => c.to_ascii_uppercase(),
            '—' | '–' | '―' | '‐' | '‑' | '−' | '~' | '～' | '_' => '-',
            '(' | '[' | '{' | '【' | '〔' | '〖' | '「' | '『' | '《' | '〈' | '<' | '﹙' => {
                '('
            }
            ')' | ']' | '}' | '】' | '〕' | '〗' | '」' | '』' | '》' | '〉' | '>' | '﹚' => {
                ')'
            }
            '○' => '〇',
            ',' | '，' | '、' | ';' | '；' | ':' | '：' | '。' | '.' | '"' | '“' | '”' | '\''
            | '‘' | '’' | '|' | '!' | '！' | '?' | '？' | '*' | '·' | '•' | '+' | '&' | '@'
            | '=' | '^' | '`' | '\\' | '$' | '%' => continue,
            c => c,
        };
        if c.is_ascii_digit() {
            run += 1;
            digits = digits.max(run);
        } else {
            run = 0;
        }
        brackets |= c == '(' || c == ')';
        hash |= c == '#';
        lian |= c == '联';
        chars.push(c);
    }
    let chars = if brackets {
        let dropped = drop_brackets(&chars);
        // Dropping a group may join two runs of digits.
        digits = longest_digit_run(&dropped);
        dropped
    } else {
        chars
    };
    let chars = if digits >= 7 {
        drop_phones(&chars)
    } else {
        chars
    };
    let mut start = 0;
    // The prefixes below begin with one of these (most addresses begin with none).
    let prefixed = matches!(
        chars.first(),
        Some('中' | '收' | '详' | '注' | '经' | '地' | '住')
    );
    for prefix in if prefixed { &PREFIXES[..] } else { &[] } {
        if starts_with(&chars[start..], prefix) {
            start += prefix.chars().count();
        }
    }
    let mut out = chars;
    if start > 0 {
        out.drain(..start);
    }
    if hash && out.contains(&'#') {
        let mut k = 0;
        while k < out.len() {
            if out[k] == '#' {
                if k > 0 && out[k - 1].is_ascii_alphanumeric() {
                    out[k] = '号';
                } else {
                    out.remove(k);
                    continue;
                }
            }
            k += 1;
        }
    }
    if lian && out.contains(&'联') {
        for noise in ["联系电话", "联系人", "电联"] {
            let n = noise.chars().count();
            let mut k = 0;
            while k + n <= out.len() {
                if starts_with(&out[k..], noise) {
                    out.drain(k..k + n);
                } else {
                    k += 1;
                }
            }
        }
    }
    *buf = out;
}

/// Words before an address that are not part of it, in the order they are removed.
const PREFIXES: [&str; 9] = [
    "中华人民共和国",
    "中国",
    "收货地址",
    "详细地址",
    "注册地址",
    "经营地址",
    "地址",
    "住所",
    "住址",
];

/// Whether `chars` begins with `s`.
pub(super) fn starts_with(chars: &[char], s: &str) -> bool {
    let mut it = chars.iter();
    s.chars().all(|c| it.next() == Some(&c))
}

fn contains(chars: &[char], s: &str) -> bool {
    let n = s.chars().count();
    n <= chars.len() && (0..=chars.len() - n).any(|i| starts_with(&chars[i..], s))
}

/// Words that make a bracketed group a note rather than part of the address.
const NOTE_WORDS: [&str; 18] = [
    "电联",
    "电话",
    "联系",
    "手机",
    "微信",
    "备注",
    "送货",
    "快递",
    "收件",
    "收货",
    "请勿",
    "不要",
    "打电话",
    "QQ",
    "TEL",
    "工作日",
    "周末",
    "勿",
];
/// Words that make a bracketed group a pointer to somewhere else (近XX路, XX对面).
const NEAR_START: [&str; 3] = ["近", "靠近", "临近"];
const NEAR_END: [&str; 9] = [
    "旁",
    "附近",
    "对面",
    "隔壁",
    "东侧",
    "西侧",
    "南侧",
    "北侧",
    "交叉口",
];

/// Drops bracketed notes (电联, phone numbers, 近XX路) and unwraps other brackets.
fn drop_brackets(chars: &[char]) -> Vec<char> {
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '(' => {
                let close = chars[i + 1..].iter().position(|&c| c == ')');
                match close {
                    Some(k) => {
                        let inner = &chars[i + 1..i + 1 + k];
                        if !is_note(inner) {
                            out.extend(inner.iter().copied().filter(|&c| c != '('));
                        }
                        i += k + 2;
                    }
                    None => i += 1,
                }
            }
            ')' => i += 1,
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn is_note(inner: &[char]) -> bool {
    let digits = longest_digit_run(inner);
    inner.is_empty()
        || digits >= 7
        || NOTE_WORDS.iter().any(|w| contains(inner, w))
        || NEAR_START.iter().any(|w| starts_with(inner, w))
        || NEAR_END.iter().any(|w| {
            let n = w.chars().count();
            inner.len() >= n && starts_with(&inner[inner.len() - n..], w)
        })
}

fn longest_digit_run(chars: &[char]) -> usize {
    let mut best = 0;
    let mut run = 0;
    for c in chars {
        if c.is_ascii_digit() {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

/// Drops mobile numbers (11 digits from 1) and land lines (0XX-XXXXXXXX), with the label
/// before them (电话, 手机, TEL).
fn drop_phones(chars: &[char]) -> Vec<char> {
    let mut out: Vec<char> = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_alphanumeric()) {
            let run = chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            let mobile = run == 11 && chars[i] == '1';
            let mut land = 0;
            if chars[i] == '0' && (3..=4).contains(&run) && chars.get(i + run) == Some(&'-') {
                let rest = chars[i + run + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .count();
                if (7..=8).contains(&rest) {
                    land = run + 1 + rest;
                }
            }
            if mobile || land > 0 || run >= 12 {
                for label in ["联系电话", "电话", "手机", "TEL", "电联"] {
                    let n = label.chars().count();
                    if out.len() >= n && starts_with(&out[out.len() - n..], label) {
                        out.truncate(out.len() - n);
                    }
                }
                i += if land > 0 { land } else { run };
                continue;
            }
            out.extend_from_slice(&chars[i..i + run]);
            i += run;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Unit markers after which a Chinese numeral is a number (三单元, 十二楼, 一百零三号), as
/// [`unit_marker_follows`] finds them (checked against this list in the tests).
#[cfg(test)]
const MARKERS: [&str; 11] = [
    "号", "单元", "栋", "幢", "座", "楼", "层", "室", "弄", "排", "户",
];

fn numeral_digit(c: char) -> Option<u64> {
    Some(match c {
        '零' | '〇' => 0,
        '一' | '壹' => 1,
        '二' | '两' | '贰' => 2,
        '三' | '叁' => 3,
        '四' | '肆' => 4,
        '五' | '伍' => 5,
        '六' | '陆' => 6,
        '七' | '柒' => 7,
        '八' | '捌' => 8,
        '九' | '玖' => 9,
        _ => return None,
    })
}

use super::index_data::{CJK_FIRST, CJK_LEN};

/// Every character [`is_numeral`] accepts but 〇 (U+3007), the one outside the CJK block.
const CJK_NUMERALS: [char; 26] = [
    '零', '一', '壹', '二', '两', '贰', '三', '叁', '四', '肆', '五', '伍', '六', '陆', '七', '柒',
    '八', '捌', '九', '玖', '十', '拾', '百', '佰', '千', '仟',
];

const NUMERAL_SET: CjkSet = cjk_set(&CJK_NUMERALS);

/// Whether `c` is a Chinese numeral: one bit test, no comparison with each (almost every
/// character of an address is not one, and a chain of comparisons is a chain of branches the
/// processor guesses).
#[inline(always)]
pub(crate) fn is_numeral(c: char) -> bool {
    in_cjk_set(&NUMERAL_SET, c) | (c == '〇')
}

/// A set of characters of the CJK Unified Ideographs block (U+4E00–U+9FFF, the block of the
/// name index's pair keys), one bit each (2.6 KB).
pub(crate) type CjkSet = [u64; CJK_WORDS];

const CJK_WORDS: usize = CJK_LEN.div_ceil(64) as usize;

/// The set of `chars`, at compile time (a character outside the block stops the build).
pub(crate) const fn cjk_set(chars: &[char]) -> CjkSet {
    let mut bits = [0u64; CJK_WORDS];
    let mut k = 0;
    while k < chars.len() {
        let i = chars[k] as u32 - CJK_FIRST;
        bits[(i / 64) as usize] |= 1 << (i % 64);
        k += 1;
    }
    bits
}

/// Whether `c` is in `set` (false for any character outside the block).
#[inline(always)]
pub(crate) fn in_cjk_set(set: &CjkSet, c: char) -> bool {
    let i = (c as u32).wrapping_sub(CJK_FIRST);
    set.get((i / 64) as usize)
        .is_some_and(|w| (w >> (i % 64)) & 1 != 0)
}

/// Whether a unit marker (any of [`MARKERS`]) begins `after`, by its first characters.
fn unit_marker_follows(after: &[char]) -> bool {
    match after.first() {
        Some('号' | '栋' | '幢' | '座' | '楼' | '层' | '室' | '弄' | '排' | '户') => true,
        Some('单') => after.get(1) == Some(&'元'),
        _ => false,
    }
}

/// The Arabic form of a Chinese numeral: `一百零三` → `103`, `十二` → `12`, `二〇一` → `201`.
/// `None` for what is not a well-formed numeral.
pub(crate) fn numeral_value(run: &[char]) -> Option<String> {
    if run.is_empty() || run.len() > 12 {
        return None;
    }
    if run.iter().all(|&c| numeral_digit(c).is_some()) {
        return run
            .iter()
            .map(|&c| numeral_digit(c).and_then(|d| char::from_digit(d as u32, 10)))
            .collect();
    }
    let mut total: u64 = 0;
    let mut digit: Option<u64> = None;
    let mut last_unit = u64::MAX;
    for &c in run {
        if let Some(d) = numeral_digit(c) {
            if d == 0 {
                digit = None;
                continue;
            }
            if digit.is_some() {
                return None;
            }
            digit = Some(d);
            continue;
        }
        let unit = match c {
            '十' | '拾' => 10,
            '百' | '佰' => 100,
            '千' | '仟' => 1000,
            _ => return None,
        };
        if unit >= last_unit {
            return None;
        }
        last_unit = unit;
        let d = match digit.take() {
            Some(d) => d,
            None if unit == 10 && total == 0 => 1,
            None => return None,
        };
        total = total.checked_add(d.checked_mul(unit)?)?;
    }
    total = total.checked_add(digit.unwrap_or(0))?;
    Some(total.to_string())
}

/// Replaces Chinese numerals followed by a unit marker with Arabic digits, dropping an
/// ordinal 第 before them: `第十二层` → `12层`, `三单元` → `3单元`.
pub(crate) fn arabic_numerals(chars: &[char]) -> Vec<char> {
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        if is_numeral(chars[i]) {
            let run = chars[i..].iter().take_while(|&&c| is_numeral(c)).count();
            let after = &chars[i + run..];
            if unit_marker_follows(after)
                && let Some(v) = numeral_value(&chars[i..i + run])
            {
                if out.last() == Some(&'第') {
                    out.pop();
                }
                out.extend(v.chars());
                i += run;
                continue;
            }
            out.extend_from_slice(&chars[i..i + run]);
            i += run;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(s: &str) -> String {
        super::clean(s).into_iter().collect()
    }

    fn arabic(s: &str) -> String {
        arabic_numerals(&s.chars().collect::<Vec<_>>())
            .into_iter()
            .collect()
    }

    #[test]
    fn full_width_and_spaces() {
        assert_eq!(clean("历下区　泉城路１８０号 Ａ座"), "历下区泉城路180号A座");
        assert_eq!(clean("b座\t3#楼"), "B座3号楼");
    }

    #[test]
    fn notes_and_phones_go() {
        assert_eq!(clean("泉城路180号(电联)"), "泉城路180号");
        assert_eq!(clean("泉城路180号（电话13912345678）"), "泉城路180号");
        assert_eq!(clean("泉城路180号 手机:13912345678"), "泉城路180号");
        assert_eq!(clean("泉城路180号 0531-86012345"), "泉城路180号");
        assert_eq!(clean("泉城路180号(近趵突泉)"), "泉城路180号");
        assert_eq!(
            clean("泉城路180号【齐鲁国际大厦】"),
            "泉城路180号齐鲁国际大厦"
        );
        assert_eq!(clean("中国山东省济南市"), "山东省济南市");
        assert_eq!(clean("泉城路180号 电联"), "泉城路180号");
        assert_eq!(clean("((("), "");
        assert_eq!(clean(")("), "");
    }

    #[test]
    fn numeral_and_marker_tests_as_by_the_lists() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let listed =
                numeral_digit(c).is_some() || matches!(c, '十' | '拾' | '百' | '佰' | '千' | '仟');
            assert_eq!(is_numeral(c), listed, "{c:?}");
            assert_eq!(CJK_NUMERALS.contains(&c) || c == '〇', listed, "{c:?}");
        }
        let pieces = [
            "号", "单", "元", "栋", "幢", "座", "楼", "层", "室", "弄", "排", "户", "路", "A", "",
        ];
        for a in pieces {
            for b in pieces {
                let after: Vec<char> = format!("{a}{b}").chars().collect();
                assert_eq!(
                    unit_marker_follows(&after),
                    MARKERS.iter().any(|m| starts_with(&after, m)),
                    "{a}{b}"
                );
            }
        }
    }

    #[test]
    fn chinese_numerals() {
        assert_eq!(
            numeral_value(&['一', '百', '零', '三']).as_deref(),
            Some("103")
        );
        assert_eq!(numeral_value(&['十', '二']).as_deref(), Some("12"));
        assert_eq!(numeral_value(&['二', '十']).as_deref(), Some("20"));
        assert_eq!(numeral_value(&['二', '〇', '一']).as_deref(), Some("201"));
        assert_eq!(
            numeral_value(&['两', '千', '零', '一', '十']).as_deref(),
            Some("2010")
        );
        assert_eq!(numeral_value(&['十', '十']), None);
        assert_eq!(numeral_value(&['百']), None);
        assert_eq!(
            arabic("一百零三号三单元十二楼"),
            "103号3单元12楼".to_string()
        );
        assert_eq!(arabic("第十二层"), "12层");
        assert_eq!(arabic("八卦四路五三小区七栋六楼"), "八卦四路五三小区7栋6楼");
    }
}
