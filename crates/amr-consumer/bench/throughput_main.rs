//! Throughput of the kernel text-rule engine (the same source files, compiled in release
//! with the same crates) over a file, doing what `amr review contract` does per chunk: UTF-8
//! check, scan, character offsets, one JSON line per finding (to a sink).
#[path = "/work/wt-contract/crates/amr-kernel/src/textrules/mod.rs"]
#[allow(dead_code)]
mod textrules;
use std::io::Write;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rules = textrules::RuleSet::from_toml(&std::fs::read_to_string(&args[1]).unwrap()).unwrap();
    let t0 = std::time::Instant::now();
    let bytes = std::fs::read(&args[2]).unwrap();
    let text = std::str::from_utf8(&bytes).unwrap();
    let mut out = std::io::BufWriter::new(std::io::sink());
    let mut chars = textrules::CharCounter::new(text);
    let mut n = 0usize;
    for h in rules.scan(text) {
        let r = rules.rule(h.rule);
        let s = chars.at(h.start);
        let found = &text[h.start..h.end];
        let line = serde_json::json!({"rule": r.id(), "basis": r.basis(), "start": s, "end": s + textrules::count_chars(found.as_bytes()), "text": found});
        serde_json::to_writer(&mut out, &line).unwrap();
        out.write_all(b"\n").unwrap();
        n += 1;
    }
    out.flush().unwrap();
    let secs = t0.elapsed().as_secs_f64();
    println!("{} bytes, {n} findings, {secs:.3} s, {:.1} MB/s", bytes.len(), bytes.len() as f64 / 1e6 / secs);
}
