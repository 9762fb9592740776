//! `amr address parse`: one address per line on stdin → one JSON object per line on stdout,
//! same order and count (an empty line gives an object of nulls). Streams with buffered
//! reads and writes; no database.

use std::io::{BufRead, BufWriter, Write};
use std::process::ExitCode;

use clap::Subcommand;

use amr_kernel::codes::division::Jurisdiction;
use amr_kernel::error::AppError;

#[derive(Debug, Subcommand)]
pub enum AddressCommand {
    /// Parse addresses: one per line on stdin, one JSON object per line on stdout with input,
    /// province, city, county, town, county_code, town_code, village, road, road_no, poi,
    /// building, unit, floor, room, normalized, confidence (null where absent).
    Parse {
        /// The jurisdiction the addresses are expected in (division code, 2–9 digits): settles
        /// ambiguous names and fills levels an address leaves out.
        #[arg(long, value_name = "DIVISION_CODE")]
        hint: Option<String>,
    },
    /// Database commands: `check`, `library import`, `risk rebuild` (see `address_db`).
    #[command(flatten)]
    Db(crate::address_db::AddressDbCommand),
}

pub fn run(cmd: AddressCommand) -> Result<ExitCode, AppError> {
    match cmd {
        // Opens the database: run by `commands::run` through `address_db::run`.
        AddressCommand::Db(_) => Err(AppError::Internal(anyhow::anyhow!(
            "address database commands run through address_db"
        ))),
        AddressCommand::Parse { hint } => {
            let hint = match hint.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(h) => {
                    let j = Jurisdiction::parse(h).map_err(|e| AppError::bad_request("hint", e))?;
                    Some(j.prefix().to_owned()).filter(|p| !p.is_empty())
                }
            };
            let stdin = std::io::stdin().lock();
            let stdout = std::io::stdout().lock();
            parse_lines(stdin, stdout, hint.as_deref())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Parses every line of `input` into a JSON line on `output`. Invalid UTF-8 is read lossily
/// (the line still gets its object); a line ending in `\r\n` loses the `\r`.
pub fn parse_lines(
    mut input: impl BufRead,
    output: impl Write,
    hint: Option<&str>,
) -> Result<(), AppError> {
    let mut out = BufWriter::with_capacity(1 << 16, output);
    let mut line = Vec::with_capacity(256);
    let io = |e: std::io::Error| AppError::Internal(e.into());
    let written = |r: std::io::Result<()>| match r {
        // A reader that stops early (`| head`) ends the run, not as an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(io(e)),
        Ok(()) => Ok(true),
    };
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line).map_err(io)? == 0 {
            break;
        }
        let mut bytes = line.as_slice();
        if let Some(b) = bytes.strip_suffix(b"\n") {
            bytes = b;
        }
        if let Some(b) = bytes.strip_suffix(b"\r") {
            bytes = b;
        }
        let text = String::from_utf8_lossy(bytes);
        let parsed = amr_address::parse(&text, hint);
        let json = serde_json::to_writer(&mut out, &parsed).map_err(std::io::Error::from);
        if !written(json.and_then(|()| out.write_all(b"\n")))? {
            return Ok(());
        }
    }
    written(out.flush()).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_object_per_line_in_order() {
        let input = "历下区泉城路180号\n\n山东省济南市\r\n";
        let mut out = Vec::new();
        parse_lines(input.as_bytes(), &mut out, None).unwrap();
        let lines: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["county_code"], "370102");
        assert_eq!(lines[1]["input"], "");
        assert!(lines[1]["county"].is_null());
        assert_eq!(lines[2]["city"], "济南市");
    }
}
