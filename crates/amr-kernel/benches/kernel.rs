//! Throughput of the kernel's code validators and working-day calendar,
//! each against a naive baseline measured in the same run.
//!
//! Run: `cargo bench -p amr-kernel --bench kernel -- --quick`

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use amr_kernel::calendar::{Calendar, DayKind};
use amr_kernel::codes::{Level, OrgCode, RegistrationType, Uscc, divisions};
use chrono::{Datelike, Days, NaiveDate, Weekday};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const N: usize = 100_000;
const USCC_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const ORG_ALPHABET: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// The way many public implementations validate: a `Vec<char>`, and each
/// character's value found with `str::find` in the alphabet string.
/// (It only checks the final character, not the type or organization part.)
fn naive_uscc(code: &str) -> bool {
    const W: [usize; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let chars: Vec<char> = code.chars().collect();
    if chars.len() != 18 {
        return false;
    }
    let mut sum = 0;
    for i in 0..17 {
        match USCC_ALPHABET.find(chars[i]) {
            Some(v) => sum += v * W[i],
            None => return false,
        }
    }
    USCC_ALPHABET.chars().nth((31 - sum % 31) % 31) == Some(chars[17])
}

fn naive_org(code: &str) -> bool {
    const W: [usize; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let chars: Vec<char> = code.chars().filter(|&c| c != '-').collect();
    if chars.len() != 9 {
        return false;
    }
    let mut sum = 0;
    for i in 0..8 {
        match ORG_ALPHABET.find(chars[i]) {
            Some(v) => sum += v * W[i],
            None => return false,
        }
    }
    let expected = match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        c => char::from(b'0' + c as u8),
    };
    chars[8] == expected
}

/// A calendar as commonly written: a map of listed days and a day-by-day loop.
struct NaiveCalendar(HashMap<NaiveDate, DayKind>);

impl NaiveCalendar {
    fn is_working_day(&self, d: NaiveDate) -> bool {
        match self.0.get(&d) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            None => !matches!(d.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut d = start;
        let mut left = n;
        while left > 0 {
            d = d.succ_opt().unwrap();
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    fn working_days_between(&self, a: NaiveDate, b: NaiveDate) -> i64 {
        let mut d = a;
        let mut n = 0;
        while d < b {
            d = d.succ_opt().unwrap();
            n += i64::from(self.is_working_day(d));
        }
        n
    }
}

/// 100k codes, half valid; the other half are valid codes with one character
/// changed to another character of the alphabet.
fn uscc_inputs(rng: &mut StdRng) -> Vec<String> {
    let counties: Vec<&str> = divisions()
        .iter()
        .filter(|d| d.level == Level::County)
        .map(|d| d.code)
        .collect();
    (0..N)
        .map(|i| {
            let div = counties[rng.random_range(0..counties.len())];
            let u = Uscc::generate(RegistrationType::Enterprise, div, rng).unwrap();
            let mut s = u.as_str().to_owned();
            if i % 2 == 1 {
                let pos = rng.random_range(0..18);
                let old = s.as_bytes()[pos];
                let mut c = old;
                while c == old {
                    c = USCC_ALPHABET.as_bytes()[rng.random_range(0..31)];
                }
                s.replace_range(pos..pos + 1, &char::from(c).to_string());
            }
            s
        })
        .collect()
}

fn org_inputs(rng: &mut StdRng) -> Vec<String> {
    (0..N)
        .map(|i| {
            let body: String = (0..8)
                .map(|_| char::from(ORG_ALPHABET.as_bytes()[rng.random_range(0..36)]))
                .collect();
            let code = OrgCode::from_body(&body).unwrap().to_string();
            if i % 2 == 1 {
                format!(
                    "{}{}",
                    &code[..8],
                    if code.ends_with('1') { '2' } else { '1' }
                )
            } else {
                code
            }
        })
        .collect()
}

fn bench_codes(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(2026);
    let codes = uscc_inputs(&mut rng);
    assert_eq!(
        codes
            .iter()
            .filter(|s| Uscc::is_valid(s.as_bytes()))
            .count(),
        N / 2
    );
    let mut g = c.benchmark_group("uscc_validate");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("lut_is_valid", |b| {
        b.iter(|| {
            codes
                .iter()
                .filter(|s| Uscc::is_valid(black_box(s.as_bytes())))
                .count()
        })
    });
    g.bench_function("validate_with_reason", |b| {
        b.iter(|| {
            codes
                .iter()
                .filter(|s| Uscc::validate(black_box(s)).is_ok())
                .count()
        })
    });
    g.bench_function("naive_find_vec", |b| {
        b.iter(|| codes.iter().filter(|s| naive_uscc(black_box(s))).count())
    });
    g.finish();

    let orgs = org_inputs(&mut rng);
    let mut g = c.benchmark_group("org_validate");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("lut_is_valid", |b| {
        b.iter(|| {
            orgs.iter()
                .filter(|s| OrgCode::is_valid(black_box(s.as_bytes())))
                .count()
        })
    });
    g.bench_function("naive_find_vec", |b| {
        b.iter(|| orgs.iter().filter(|s| naive_org(black_box(s))).count())
    });
    g.finish();
}

fn bench_calendar(c: &mut Criterion) {
    let cal = Calendar::embedded();
    let naive = NaiveCalendar(cal.rows().map(|e| (e.date, e.kind)).collect());
    let mut rng = StdRng::seed_from_u64(10);
    let first = NaiveDate::from_ymd_opt(2010, 1, 1).unwrap();
    // Start dates 2010-01-01..=2026-06-30 so that 60 working days stay in 2026.
    let span = (NaiveDate::from_ymd_opt(2026, 6, 30).unwrap() - first).num_days() as u64;
    let dates: Vec<NaiveDate> = (0..N)
        .map(|_| first + Days::new(rng.random_range(0..=span)))
        .collect();
    let ns: Vec<u32> = (0..N).map(|_| rng.random_range(1..=60)).collect();
    let ends: Vec<NaiveDate> = dates
        .iter()
        .map(|&d| d + Days::new(rng.random_range(0..=90)))
        .collect();
    for ((&d, &n), &e) in dates.iter().zip(&ns).zip(&ends).take(2_000) {
        assert_eq!(cal.is_working_day(d).unwrap(), naive.is_working_day(d));
        assert_eq!(
            cal.add_working_days(d, n).unwrap(),
            naive.add_working_days(d, n)
        );
        assert_eq!(
            cal.working_days_between(d, e).unwrap(),
            naive.working_days_between(d, e)
        );
    }

    let mut g = c.benchmark_group("calendar_is_working_day");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("indexed", |b| {
        b.iter(|| {
            dates
                .iter()
                .filter(|&&d| cal.is_working_day(black_box(d)).unwrap())
                .count()
        })
    });
    g.bench_function("naive_hashmap", |b| {
        b.iter(|| {
            dates
                .iter()
                .filter(|&&d| naive.is_working_day(black_box(d)))
                .count()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("calendar_add_working_days");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("indexed", |b| {
        b.iter(|| {
            dates
                .iter()
                .zip(&ns)
                .map(|(&d, &n)| cal.add_working_days(black_box(d), n).unwrap().ordinal())
                .sum::<u32>()
        })
    });
    g.bench_function("naive_day_loop", |b| {
        b.iter(|| {
            dates
                .iter()
                .zip(&ns)
                .map(|(&d, &n)| naive.add_working_days(black_box(d), n).ordinal())
                .sum::<u32>()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("calendar_working_days_between");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("indexed", |b| {
        b.iter(|| {
            dates
                .iter()
                .zip(&ends)
                .map(|(&a, &e)| cal.working_days_between(black_box(a), e).unwrap())
                .sum::<i64>()
        })
    });
    g.bench_function("naive_day_loop", |b| {
        b.iter(|| {
            dates
                .iter()
                .zip(&ends)
                .map(|(&a, &e)| naive.working_days_between(black_box(a), e))
                .sum::<i64>()
        })
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_codes, bench_calendar
}
criterion_main!(benches);
