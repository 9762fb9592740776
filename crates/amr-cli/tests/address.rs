//! `amr address parse` as a user runs it: stdin lines in, JSON lines out, no database.

use std::io::Write;
use std::process::{Command, Stdio};

fn amr() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_amr"));
    for (k, _) in std::env::vars() {
        if k.starts_with("AMR_") {
            c.env_remove(k);
        }
    }
    c.env("AMR_LOG", "warn");
    c
}

fn run(args: &[&str], input: &str, dir: &std::path::Path) -> std::process::Output {
    let mut child = amr()
        .args(args)
        .current_dir(dir)
        // A database that cannot be opened: the command must not try.
        .env("AMR_DATABASE_URL", "sqlite:///nonexistent/dir/amr.db")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    out
}

fn json_lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn one_json_line_per_input_line_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let input = "历下区泉城路180号齐鲁国际大厦10楼\n\n朝阳区建国路88号\r\n山东省济南市历下区文化东路一百零三号三单元十二楼";
    let out = run(&["address", "parse"], input, dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 4);
    let a = &lines[0];
    assert_eq!(a["input"], "历下区泉城路180号齐鲁国际大厦10楼");
    assert_eq!(a["province"], "山东省");
    assert_eq!(a["city"], "济南市");
    assert_eq!(a["county"], "历下区");
    assert_eq!(a["county_code"], "370102");
    assert_eq!(a["road"], "泉城路");
    assert_eq!(a["road_no"], "180号");
    assert_eq!(a["poi"], "齐鲁国际大厦");
    assert_eq!(a["floor"], "10");
    for k in [
        "input",
        "province",
        "city",
        "county",
        "town",
        "county_code",
        "town_code",
        "village",
        "road",
        "road_no",
        "poi",
        "building",
        "unit",
        "floor",
        "room",
        "normalized",
        "confidence",
    ] {
        assert!(lines[1].get(k).is_some(), "{k} missing");
    }
    assert_eq!(lines[1]["input"], "");
    assert!(lines[1]["county"].is_null() && lines[1]["normalized"].is_null());
    assert_eq!(lines[2]["input"], "朝阳区建国路88号");
    assert_eq!(lines[2]["ambiguities"][0]["basis"], "unresolved");
    assert_eq!(lines[3]["unit"], "3");
    assert_eq!(lines[3]["floor"], "12");
    assert!(
        !dir.path().join("data").exists(),
        "the parse command must not create a database"
    );
}

#[test]
fn the_hint_is_checked_and_used() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &["address", "parse", "--hint", "22"],
        "朝阳区建国路88号\n",
        dir.path(),
    );
    assert!(out.status.success());
    assert_eq!(json_lines(&out)[0]["county_code"], "220104");
    let out = run(
        &["address", "parse", "--hint", "12x"],
        "朝阳区\n",
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hint"));
}

#[test]
fn streams_many_lines_and_odd_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = String::new();
    for i in 0..20_000 {
        input.push_str(&format!("浙江省杭州市西湖区文三路{i}号\n"));
    }
    let out = run(&["address", "parse"], &input, dir.path());
    assert!(out.status.success());
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 20_000);
    assert_eq!(lines[19_999]["road_no"], "19999号");

    // Invalid UTF-8 still gets its line.
    let mut child = amr()
        .args(["address", "parse"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"\xff\xfe\n\xe5\x8e\x86\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(json_lines(&out).len(), 2);
}
