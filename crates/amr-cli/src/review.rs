//! `amr review contract [FILE]`: reads a text (the file, or stdin without one) and prints one
//! JSON line per finding of the unfair-clause rules:
//! `{"rule":"HT-INTERPRET","basis":"法释〔2022〕8号 第一条第三项；…","start":12,"end":17,"text":"最终解释权"}`.
//!
//! - Offsets are **character** offsets (Unicode scalar values, as Python's `str` indexes),
//!   `end` exclusive, counted from the start of the text; a leading UTF-8 byte-order mark is
//!   skipped and not counted.
//! - Exit 0 whether or not anything is found; exit 2 when the input cannot be read: a missing
//!   file, an I/O error, or text that is not UTF-8 (GB18030/GBK is refused with the byte
//!   offset and the `iconv` command that converts it: decoding it needs tables this binary
//!   does not carry), or a `--rules` file that does not compile.
//! - The text is read in chunks of about 4 MiB cut after a line break (or, in a line longer
//!   than a chunk, after the last whole character), so memory stays flat on any size; a
//!   clause is never longer than a line, so cutting at line breaks loses nothing.

use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde::Serialize;

use amr_kernel::textrules::{CharCounter, RuleSet, count_chars};

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Unfair standard-form clauses (不公平格式条款): one JSON line per finding
    /// {"rule","basis","start","end","text"} (character offsets); exit 0 found or not, 2 on
    /// unreadable input.
    Contract(ReviewArgs),
}

#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// The text file (UTF-8). Without it, stdin is read.
    pub file: Option<PathBuf>,
    /// A rule file (TOML) to use instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
}

/// The size of a chunk read before it is cut at a line break.
const CHUNK: usize = 4 << 20;

#[derive(Serialize)]
struct Line<'a> {
    rule: &'a str,
    basis: &'a str,
    start: usize,
    end: usize,
    text: &'a str,
}

fn refuse(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("错误 (error): {message}");
    ExitCode::from(2)
}

pub fn review_command(cmd: ReviewCommand) -> ExitCode {
    let ReviewCommand::Contract(args) = cmd;
    let custom;
    let rules: &RuleSet = match &args.rules {
        None => amr_consumer::contract::rules(),
        Some(path) => {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) => {
                    return refuse(format!(
                        "无法读取规则文件 {} (cannot read the rule file): {e}",
                        path.display()
                    ));
                }
            };
            match RuleSet::from_toml(&text) {
                Ok(r) => {
                    custom = r;
                    &custom
                }
                Err(problems) => {
                    return refuse(format!(
                        "规则文件有误 (the rule file is not valid):\n  {}",
                        problems.join("\n  ")
                    ));
                }
            }
        }
    };
    let input: Box<dyn Read> = match &args.file {
        None => Box::new(std::io::stdin().lock()),
        Some(path) => match std::fs::File::open(path) {
            Ok(f) => Box::new(f),
            Err(e) => {
                return refuse(format!(
                    "无法读取文件 {} (cannot read the file): {e}",
                    path.display()
                ));
            }
        },
    };
    let stdout = std::io::stdout().lock();
    match review(rules, input, stdout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(Failure::Output(e)) => refuse(format!("无法写出结果 (cannot write): {e}")),
        Err(Failure::Input(m)) => refuse(m),
    }
}

/// Why a review stopped.
#[derive(Debug)]
pub enum Failure {
    Input(String),
    Output(std::io::Error),
}

/// Reviews `input` chunk by chunk, writing JSON lines to `output`.
pub fn review(rules: &RuleSet, mut input: impl Read, output: impl Write) -> Result<(), Failure> {
    let mut out = BufWriter::with_capacity(1 << 16, output);
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK + (1 << 16));
    let mut base_bytes = 0usize; // bytes of the text consumed before `buf`
    let mut base_chars = 0usize; // characters of the text consumed before `buf`
    let mut first = true;
    let mut eof = false;
    while !eof || !buf.is_empty() {
        // Fill up to a chunk (read_to_end grows the buffer without zeroing it first).
        if !eof && buf.len() < CHUNK {
            let want = (CHUNK - buf.len()) as u64;
            match (&mut input).take(want).read_to_end(&mut buf) {
                Ok(n) => eof = (n as u64) < want,
                Err(e) => {
                    return Err(Failure::Input(format!(
                        "读取输入失败 (cannot read the input): {e}"
                    )));
                }
            }
        }
        if first {
            first = false;
            if buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
                buf.drain(..3);
            }
        }
        // Where this chunk ends: after its last line break, else after its last whole
        // character, else (at the end) everything.
        let cut = if eof {
            buf.len()
        } else if let Some(i) = buf.iter().rposition(|&b| b == b'\n') {
            i + 1
        } else {
            let mut i = buf.len();
            while i > 0 && (buf[i - 1] as i8) < -0x40 {
                i -= 1; // continuation bytes
            }
            // `i - 1` starts the last (maybe incomplete) character: keep it for later.
            i.saturating_sub(1).max(1)
        };
        let text = match std::str::from_utf8(&buf[..cut]) {
            Ok(t) => t,
            Err(e) => {
                let at = base_bytes + e.valid_up_to();
                return Err(Failure::Input(format!(
                    "输入不是 UTF-8 文本（第 {at} 字节处）；GB18030/GBK 文本请先转换，例如 \
                     iconv -f GB18030 -t UTF-8 (the input is not UTF-8 at byte {at}; convert \
                     GB18030/GBK text first, e.g. with iconv -f GB18030 -t UTF-8)"
                )));
            }
        };
        let mut chars = CharCounter::new(text);
        for hit in rules.scan(text) {
            let rule = rules.rule(hit.rule);
            let start = chars.at(hit.start);
            let found = &text[hit.start..hit.end];
            let line = Line {
                rule: rule.id(),
                basis: rule.basis(),
                start: base_chars + start,
                end: base_chars + start + count_chars(found.as_bytes()),
                text: found,
            };
            serde_json::to_writer(&mut out, &line)
                .map_err(|e| Failure::Output(std::io::Error::other(e)))?;
            out.write_all(b"\n").map_err(Failure::Output)?;
        }
        base_chars += chars.at(text.len());
        base_bytes += cut;
        buf.drain(..cut);
    }
    out.flush().map_err(Failure::Output)
}
