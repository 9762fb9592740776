//! Builds the address parser's name index at compile time (see `src/parse/index_data.rs`):
//! the division table of the kernel crate (`../amr-kernel/data/*.csv`, read as the kernel
//! reads it) and `data/former_divisions.csv` in, `address_index.rs` in `OUT_DIR` out: the
//! index as one Rust expression of static arrays, which the library includes as a `static`
//! (nothing is built or decoded at run time). Reads only files of the repository; the
//! library's tests check that the result is the index built from the kernel's own table.

use std::path::{Path, PathBuf};

#[path = "src/parse/index_data.rs"]
mod index_data;

/// The kernel's division level, as `index_data` expects it (`super::Level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Level {
    Province,
    Prefecture,
    County,
    Town,
}

/// `(code, name)` of each data row of a `code,"name",...` file, as the kernel's table reads
/// its files.
fn rows(text: &'static str) -> impl Iterator<Item = (&'static str, &'static str)> {
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let line = line.trim_end_matches('\r');
            let (code, rest) = line.split_once(',').unwrap_or((line, ""));
            let name = match rest.strip_prefix('"') {
                Some(r) => r.split_once('"').map_or(r, |(n, _)| n),
                None => rest.split(',').next().unwrap_or(""),
            };
            (code, name)
        })
}

fn read(path: &Path) -> &'static str {
    println!("cargo:rerun-if-changed={}", path.display());
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    String::leak(text)
}

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/parse/index_data.rs");
    let kernel = dir.join("../amr-kernel/data");
    // As the kernel's `DivisionTable`: the rows of the four files with a code of 2, 4, 6 or
    // 9 digits, sorted by code, one per code.
    let mut table: Vec<(&'static str, &'static str)> =
        ["provinces.csv", "cities.csv", "areas.csv", "streets.csv"]
            .into_iter()
            .flat_map(|f| rows(read(&kernel.join(f))))
            .filter(|(code, _)| index_data::level_of(code).is_some())
            .collect();
    table.sort_unstable_by_key(|d| d.0);
    table.dedup_by_key(|d| d.0);
    let former = read(&dir.join("data/former_divisions.csv"));
    let index = index_data::Index::build(&table, former);
    std::fs::write(out.join("address_index.rs"), index.rust_source()).expect("writable OUT_DIR");
}
