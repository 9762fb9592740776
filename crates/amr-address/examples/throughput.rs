//! Parse throughput on one core, the parse alone (no reading, no JSON):
//! `cargo run --release -p amr-address --example throughput -- FILE [ROUNDS]` with one address
//! per line. `--json FILE` prints one JSON object per line instead (for quick checks).
//! It uses mimalloc, the allocator of the `amr` binary, so the figure is the parse as the
//! command runs it.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--json") {
        let text = std::fs::read_to_string(args.get(1).expect("FILE")).expect("readable file");
        for line in text.lines() {
            let a = amr_address::parse(line, args.get(2).map(String::as_str));
            println!("{}", serde_json::to_string(&a).expect("serializable"));
        }
        return;
    }
    let path = args.first().expect("usage: throughput FILE [ROUNDS]");
    let rounds: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(5);
    let text = std::fs::read_to_string(path).expect("readable file");
    let lines: Vec<&str> = text.lines().collect();
    let t = Instant::now();
    let _ = amr_address::parse("", None);
    println!("index built in {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let mut best = f64::MAX;
    let mut counties = 0usize;
    for _ in 0..rounds {
        let t = Instant::now();
        counties = 0;
        for l in &lines {
            counties += usize::from(
                std::hint::black_box(amr_address::parse(l, None))
                    .county
                    .is_some(),
            );
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "{} addresses in {:.3} s (best of {rounds}): {:.0} addresses/s on one core; {} with a county",
        lines.len(),
        best,
        lines.len() as f64 / best,
        counties
    );
    // As `amr address parse` runs it: one result, its strings reused from one address to the
    // next.
    let mut best = f64::MAX;
    let mut a = amr_address::ParsedAddress::default();
    for _ in 0..rounds {
        let t = Instant::now();
        counties = 0;
        for l in &lines {
            amr_address::parse::parse_reusing(l, None, &mut a);
            counties += usize::from(std::hint::black_box(&a).county.is_some());
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "reusing the result: {:.3} s (best of {rounds}): {:.0} addresses/s on one core; {} with a county",
        best,
        lines.len() as f64 / best,
        counties
    );
}
