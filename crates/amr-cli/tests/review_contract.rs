//! `amr review contract` as a user runs it: text in (stdin or a file), JSON lines out,
//! character offsets, exit 0 found or not, exit 2 on unreadable input; no database.

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
    // A database that cannot be opened: the command must not try.
    c.env("AMR_DATABASE_URL", "sqlite:///nonexistent/dir/amr.db");
    c
}

fn run(args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = amr()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    let _ = writer.join().unwrap();
    out
}

fn lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The characters `start..end` of `text`.
fn chars(text: &str, start: u64, end: u64) -> String {
    text.chars()
        .skip(start as usize)
        .take((end - start) as usize)
        .collect()
}

#[test]
fn finds_a_known_clause_with_character_offsets() {
    let text = "第一条 服务内容。\n第二条 本活动最终解释权归本店所有。商品一经售出，概不退换。";
    let out = run(&["review", "contract"], text.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = lines(&out);
    assert_eq!(found.len(), 2, "{found:?}");
    let f = &found[0];
    assert_eq!(f["rule"], "HT-INTERPRET");
    assert!(f["basis"].as_str().unwrap().contains("法释〔2022〕8号"));
    assert_eq!(
        f.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["basis", "end", "rule", "start", "text"]
    );
    let (s, e) = (f["start"].as_u64().unwrap(), f["end"].as_u64().unwrap());
    assert_eq!(chars(text, s, e), f["text"].as_str().unwrap());
    assert_eq!(found[1]["rule"], "HT-NO-RETURN");
    let (s, e) = (
        found[1]["start"].as_u64().unwrap(),
        found[1]["end"].as_u64().unwrap(),
    );
    assert_eq!(chars(text, s, e), found[1]["text"].as_str().unwrap());
}

#[test]
fn nothing_found_is_exit_zero_and_no_output() {
    let out = run(
        &["review", "contract"],
        "双方应当按照约定全面履行各自的义务。".as_bytes(),
    );
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let out = run(&["review", "contract"], b"");
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
}

#[test]
fn reads_a_file_and_refuses_unreadable_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.txt");
    // A byte-order mark is skipped and not counted.
    std::fs::write(&path, "\u{feff}包间最低消费800元".as_bytes()).unwrap();
    let out = run(&["review", "contract", path.to_str().unwrap()], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = lines(&out);
    assert_eq!(found[0]["rule"], "HT-MIN-SPEND");
    assert_eq!(
        chars(
            "包间最低消费800元",
            found[0]["start"].as_u64().unwrap(),
            found[0]["end"].as_u64().unwrap()
        ),
        found[0]["text"].as_str().unwrap()
    );

    let out = run(&["review", "contract", "/nonexistent/c.txt"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("无法读取文件"));

    // "最终解释权" in GBK: refused, not guessed.
    let gbk = [0xD7u8, 0xEE, 0xD6, 0xD5, 0xBD, 0xE2, 0xCA, 0xCD, 0xC8, 0xA8];
    let out = run(&["review", "contract"], &gbk);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("UTF-8") && err.contains("iconv"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn offsets_stay_right_across_chunks() {
    // More than one 4 MiB chunk: the last finding's offsets count every character before.
    let filler = "第十条 双方应当按照约定全面履行各自的义务。\n".repeat(120_000);
    let text = format!("本店保留最终解释权。\n{filler}特价商品，概不退换。\n");
    assert!(text.len() > 5 << 20);
    let out = run(&["review", "contract"], text.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = lines(&out);
    assert_eq!(found.len(), 2, "{found:?}");
    let last = &found[1];
    let (s, e) = (
        last["start"].as_u64().unwrap(),
        last["end"].as_u64().unwrap(),
    );
    assert_eq!(
        s as usize,
        text.chars().count() - "概不退换。\n".chars().count()
    );
    assert_eq!(chars(&text, s, e), last["text"].as_str().unwrap());
}

#[test]
fn another_rule_file_can_be_used_and_a_bad_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("r.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nid = \"X-1\"\ntitle = \"测试\"\nbasis = \"测试依据\"\nkeywords = [\"押金\"]\npatterns = ['押金不退']\n",
    )
    .unwrap();
    let out = run(
        &["review", "contract", "--rules", rules.to_str().unwrap()],
        "押金不退".as_bytes(),
    );
    assert!(out.status.success());
    let found = lines(&out);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["rule"], "X-1");
    assert_eq!(found[0]["basis"], "测试依据");

    std::fs::write(&rules, "[[rule]]\nid = \"X-1\"\ntitle = \"t\"\nbasis = \"b\"\nkeywords = [\"k\"]\npatterns = ['(']\n").unwrap();
    let out = run(
        &["review", "contract", "--rules", rules.to_str().unwrap()],
        "k".as_bytes(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("X-1"));
}
