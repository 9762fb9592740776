//! Synthetic legal representatives: a name, a resident ID number and a mobile number.
//!
//! Everything is synthetic. The ID numbers are only *syntactically* valid (GB 11643: the
//! county's area code, a birth date, a sequence number whose parity gives the sex, and the
//! ISO 7064 MOD 11-2 check character); the phone numbers use real mobile prefixes and
//! random subscriber digits.

use chrono::{Datelike, NaiveDate};

use super::sample::{Sampler, choose_pair};

/// The ~100 most common Chinese surnames with rough frequencies (per 10,000 people),
/// after the national ranking of household-registration names.
pub(crate) const SURNAMES: &[(&str, u32)] = &[
    ("王", 712),
    ("李", 700),
    ("张", 674),
    ("刘", 510),
    ("陈", 461),
    ("杨", 322),
    ("黄", 245),
    ("赵", 219),
    ("吴", 208),
    ("周", 200),
    ("徐", 145),
    ("孙", 138),
    ("马", 129),
    ("朱", 128),
    ("胡", 116),
    ("郭", 115),
    ("何", 106),
    ("林", 102),
    ("高", 100),
    ("罗", 95),
    ("郑", 93),
    ("梁", 86),
    ("谢", 76),
    ("宋", 71),
    ("唐", 70),
    ("许", 66),
    ("韩", 65),
    ("冯", 60),
    ("邓", 60),
    ("曹", 59),
    ("彭", 55),
    ("曾", 54),
    ("肖", 52),
    ("田", 52),
    ("董", 51),
    ("袁", 50),
    ("潘", 49),
    ("于", 48),
    ("蒋", 48),
    ("蔡", 47),
    ("余", 47),
    ("杜", 46),
    ("叶", 45),
    ("程", 44),
    ("苏", 42),
    ("魏", 41),
    ("吕", 41),
    ("丁", 40),
    ("任", 40),
    ("沈", 39),
    ("姚", 38),
    ("卢", 37),
    ("姜", 36),
    ("崔", 35),
    ("钟", 34),
    ("谭", 33),
    ("陆", 32),
    ("汪", 31),
    ("范", 31),
    ("金", 30),
    ("石", 30),
    ("廖", 29),
    ("贾", 29),
    ("夏", 28),
    ("韦", 28),
    ("付", 27),
    ("方", 27),
    ("白", 26),
    ("邹", 26),
    ("孟", 26),
    ("熊", 25),
    ("秦", 25),
    ("邱", 24),
    ("江", 24),
    ("尹", 24),
    ("薛", 23),
    ("闫", 23),
    ("段", 22),
    ("雷", 22),
    ("侯", 22),
    ("龙", 21),
    ("史", 21),
    ("陶", 20),
    ("黎", 20),
    ("贺", 20),
    ("顾", 19),
    ("毛", 19),
    ("郝", 19),
    ("龚", 18),
    ("邵", 18),
    ("万", 18),
    ("钱", 17),
    ("严", 17),
    ("覃", 16),
    ("武", 16),
    ("戴", 16),
    ("莫", 15),
    ("孔", 15),
    ("向", 15),
    ("汤", 15),
];

/// Given-name characters common for men.
const MALE: &[&str] = &[
    "伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "刚", "平", "辉", "鹏", "华", "飞",
    "鑫", "波", "宁", "健", "亮", "俊", "峰", "建", "国", "志", "文", "海", "东", "林", "浩", "宇",
    "凯", "博", "晨", "阳", "兵", "光", "成", "龙", "新", "庆", "永", "德", "振", "立", "春", "福",
    "胜", "泽",
];

/// Given-name characters common for women.
const FEMALE: &[&str] = &[
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "秀", "英", "玲", "婷", "燕", "红", "梅", "琳",
    "倩", "雪", "慧", "莉", "萍", "颖", "洁", "丹", "晶", "佳", "欣", "悦", "蕾", "雯", "琴", "桂",
    "兰", "凤", "红", "云", "月", "晓", "璐", "爽",
];

/// Mobile number prefixes (three digits) of the mainland operators.
const MOBILE_PREFIXES: &[u16] = &[
    130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157, 158, 159,
    166, 173, 175, 176, 177, 178, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 191, 198, 199,
];

/// GB 11643 weights of the first 17 digits and the check characters by `sum mod 11`.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// Share of men among legal representatives, per 10,000.
const MALE_PER_10000: u64 = 6_500;

/// A synthetic person.
pub(crate) struct Person {
    pub(crate) name: String,
    pub(crate) id: String,
    pub(crate) phone: String,
}

/// A person registered in `county` (6 digits), at least 18 years old on `established`.
pub(crate) fn person(s: &mut Sampler, county: &str, established: NaiveDate) -> Person {
    let male = s.chance(MALE_PER_10000);
    let given = if male { MALE } else { FEMALE };
    let mut name = String::with_capacity(9);
    name.push_str(choose_pair(s, SURNAMES));
    name.push_str(s.pick::<&str>(given));
    if s.chance(6_500) {
        name.push_str(s.pick::<&str>(given));
    }
    let latest = (established.year() - 18).clamp(1950, 2003);
    let year = s.between(1950, latest as u64) as i32;
    let birth = NaiveDate::from_ymd_opt(year, 1, 1).expect("valid year")
        + chrono::Days::new(s.uniform(if is_leap(year) { 366 } else { 365 }));
    let sequence = s.uniform(500) * 2 + u64::from(male);
    Person {
        name,
        id: resident_id(county, birth, sequence as u32),
        phone: phone(s),
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// An 18-character resident ID: `county` (6 digits) + `YYYYMMDD` + 3-digit sequence + check.
pub(crate) fn resident_id(county: &str, birth: NaiveDate, sequence: u32) -> String {
    let mut id = format!(
        "{county}{:04}{:02}{:02}{sequence:03}",
        birth.year(),
        birth.month(),
        birth.day()
    );
    let sum: u32 = id
        .bytes()
        .zip(ID_WEIGHTS)
        .map(|(c, w)| u32::from(c - b'0') * w)
        .sum();
    id.push(char::from(ID_CHECK[(sum % 11) as usize]));
    id
}

/// An 11-digit mobile number.
fn phone(s: &mut Sampler) -> String {
    format!("{}{:08}", s.pick(MOBILE_PREFIXES), s.uniform(100_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_check_character_follows_gb_11643() {
        // The standard's own example: 11010519491231002X.
        let birth = NaiveDate::from_ymd_opt(1949, 12, 31).expect("date");
        assert_eq!(resident_id("110105", birth, 2), "11010519491231002X");
    }

    #[test]
    fn people_are_adults_with_well_formed_numbers() {
        let mut s = Sampler::new(5, 1);
        let est = NaiveDate::from_ymd_opt(1996, 3, 1).expect("date");
        for _ in 0..500 {
            let p = person(&mut s, "370102", est);
            assert!((2..=3).contains(&p.name.chars().count()), "{}", p.name);
            assert!(p.id.starts_with("370102") && p.id.len() == 18);
            let year: i32 = p.id[6..10].parse().expect("year");
            assert!((1950..=1978).contains(&year), "{}", p.id);
            assert!(p.phone.len() == 11 && p.phone.starts_with('1'));
        }
        assert_eq!(SURNAMES.len(), 100);
    }
}
