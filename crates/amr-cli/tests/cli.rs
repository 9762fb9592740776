//! The `amr` binary as a user runs it.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

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

fn run_with_stdin(mut cmd: Command, input: &str) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn help_lists_every_subcommand_and_each_has_its_own_help() {
    let out = amr().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for sub in [
        "serve", "migrate", "code", "division", "calendar", "user", "key", "bench",
    ] {
        assert!(text.contains(sub), "--help lacks {sub}");
        let o = amr().args([sub, "--help"]).output().unwrap();
        assert!(o.status.success(), "{sub} --help failed");
        assert!(String::from_utf8(o.stdout).unwrap().contains("Usage"));
    }
}

#[test]
fn code_check_prints_json_lines_and_exits_1_on_any_invalid() {
    let out = amr()
        .args(["code", "check", "914403001922038216", "91350100M000100Y4Z"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["valid"], true);
    assert_eq!(lines[0]["kind"], "uscc");
    assert_eq!(lines[0]["reason"], serde_json::Value::Null);
    assert_eq!(lines[1]["valid"], false);
    assert_eq!(lines[1]["error"], "check_digit");
    assert!(lines[1]["reason"].as_str().unwrap().contains('3'));

    let ok = amr()
        .args(["code", "check", "91371082775260043P"])
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0));

    // From stdin, one per line; organization codes too.
    let out = run_with_stdin(
        {
            let mut c = amr();
            c.args(["code", "check"]);
            c
        },
        "91440300708461136T\n\n19220382-1\nABC\n",
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1]["kind"], "org");
    assert_eq!(lines[2]["error"], "length");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn configuration_precedence_and_errors_name_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("amr.toml");
    std::fs::write(&cfg, "listen = \"127.0.0.1:1\"\nlisten_typo = 3\n").unwrap();
    let out = amr()
        .args(["--config", cfg.to_str().unwrap(), "migrate", "--status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("listen_typo"), "{err}");

    // Environment beats the file; the bad env value is named.
    std::fs::write(
        &cfg,
        format!(
            "database_url = \"sqlite://{}/file.db\"\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let out = amr()
        .args(["--config", cfg.to_str().unwrap(), "migrate"])
        .env("AMR_DATABASE_URL", "mysql://nope")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("database_url")
    );
    // The file alone is used when nothing else says otherwise.
    let out = amr()
        .args(["--config", cfg.to_str().unwrap(), "migrate"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("file.db").exists());
    // A flag beats the environment.
    let flag_db = format!("sqlite://{}/flag.db", dir.path().display());
    let out = amr()
        .args(["--database-url", &flag_db, "migrate"])
        .env("AMR_DATABASE_URL", "mysql://nope")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(dir.path().join("flag.db").exists());
}

#[test]
fn migrate_then_user_add_creates_accounts_with_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/amr.db", dir.path().display());
    let out = amr()
        .args(["--database-url", &db, "migrate"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("admin"),
        "first administrator printed: {text}"
    );
    let again = amr()
        .args(["--database-url", &db, "migrate"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8(again.stdout)
            .unwrap()
            .contains("password"),
        "printed only once"
    );

    let out = amr()
        .args([
            "--database-url",
            &db,
            "user",
            "add",
            "--username",
            "lixia-officer",
            "--role",
            "officer",
            "--jurisdiction",
            "370102",
            "--department",
            "登记注册科",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("历下区"), "{text}");
    assert!(text.contains("password"));

    let out = run_with_stdin(
        {
            let mut c = amr();
            c.args([
                "--database-url",
                &db,
                "user",
                "add",
                "--username",
                "weak",
                "--role",
                "officer",
                "--jurisdiction",
                "370102",
                "--password-stdin",
            ]);
            c
        },
        "short\n",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr).unwrap().contains("password"));

    for (args, field) in [
        (
            vec![
                "--username",
                "x1y",
                "--role",
                "chief",
                "--jurisdiction",
                "37",
            ],
            "role",
        ),
        (
            vec![
                "--username",
                "x2y",
                "--role",
                "officer",
                "--jurisdiction",
                "379999",
            ],
            "jurisdiction",
        ),
        (
            vec![
                "--username",
                "x3y",
                "--role",
                "officer",
                "--jurisdiction",
                "",
            ],
            "jurisdiction",
        ),
        (
            vec![
                "--username",
                "x4y",
                "--role",
                "enterprise",
                "--uscc",
                "91350100M000100Y4Z",
            ],
            "uscc",
        ),
        (
            vec![
                "--username",
                "lixia-officer",
                "--role",
                "officer",
                "--jurisdiction",
                "370102",
            ],
            "lixia-officer",
        ),
    ] {
        let mut c = amr();
        c.args(["--database-url", &db, "user", "add"]).args(&args);
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(field), "{args:?}: {err}");
    }
    let out = amr()
        .args([
            "--database-url",
            &db,
            "user",
            "list",
            "--jurisdiction",
            "3701",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("lixia-officer"));
}

#[test]
fn calendar_import_and_queries() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/amr.db", dir.path().display());
    let q = |args: &[&str]| {
        let out = amr()
            .args(["--database-url", &db, "calendar"])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (code, out, _) = q(&["add", "2026-09-30", "1"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("2026-10-08"), "{out}");
    let (code, _, err) = q(&["check", "2027-03-01"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("2027"), "{err}");
    let file = dir.path().join("2027.csv");
    std::fs::write(&file, "date,kind,name_zh,name_en\n2027-01-01,holiday,元旦,New Year's Day\n2027-02-06,holiday,春节,Spring Festival\n").unwrap();
    let (code, _, err) = q(&["import", file.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    let (code, out, _) = q(&["check", "2027-01-01"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("\"working_day\":false"), "{out}");
    // A bad file names the row and changes nothing.
    std::fs::write(
        &file,
        "date,kind,name_zh,name_en\n2028-01-01,holiday,元旦,New Year\n2028-13-01,holiday,x,y\n",
    )
    .unwrap();
    let (code, _, err) = q(&["import", file.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("2028-13-01"), "{err}");
    let (_, out, _) = q(&["years"]);
    assert!(out.contains("2027") && !out.contains("2028"), "{out}");
}

#[test]
fn serve_starts_migrates_and_answers_healthz() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/sub/amr.db", dir.path().display());
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut child = amr()
        .args([
            "--database-url",
            &db,
            "serve",
            "--demo",
            "--demo-entities",
            "3000",
            "--demo-agencies",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // What the server prints, line by line, as it comes.
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for l in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if lines_tx.send(l).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut ok = false;
    while std::time::Instant::now() < deadline {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::Read;
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut buf = String::new();
            let _ = s.read_to_string(&mut buf);
            if buf.starts_with("HTTP/1.1 200") {
                ok = true;
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // The simulated agencies and the demo bank come up after the server; the demo logins
    // are printed last.
    let mut text = String::new();
    while !text.contains("demo-lixia") {
        match lines.recv_timeout(Duration::from_secs(60)) {
            Ok(l) => {
                text.push_str(&l);
                text.push('\n');
            }
            Err(_) => break,
        }
    }
    // The demo bank has criteria and consents: a push from the command line finds
    // enterprises to send it.
    let push = amr()
        .args([
            "--database-url",
            &db,
            "exchange",
            "bank",
            "push",
            "--bank",
            "jnbank",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(ok, "serve never answered /healthz");
    assert!(
        text.contains(&format!("http://127.0.0.1:{port}/")),
        "{text}"
    );
    assert!(text.contains("demo-lixia"), "demo logins printed: {text}");
    assert!(
        text.contains("3000"),
        "the demo province was generated: {text}"
    );
    assert!(
        dir.path().join("data/search/entities").exists(),
        "and indexed"
    );
    assert!(
        text.contains("admin"),
        "first administrator printed: {text}"
    );
    for agency in [
        "tax",
        "social_security",
        "medical_insurance",
        "housing_fund",
    ] {
        assert!(
            text.contains(&format!("(simulated agency) {agency}: http://127.0.0.1:")),
            "{text}"
        );
    }
    assert!(
        text.contains("(simulated bank) jnbank: http://127.0.0.1:"),
        "{text}"
    );
    let consents: u64 = text
        .lines()
        .find(|l| l.contains("(demo consents to the bank push)"))
        .and_then(|l| l.split_whitespace().find_map(|w| w.parse().ok()))
        .unwrap_or_else(|| panic!("demo consents printed: {text}"));
    assert!(consents > 0, "{text}");
    assert!(
        push.status.success(),
        "{}",
        String::from_utf8_lossy(&push.stderr)
    );
    let run: serde_json::Value = serde_json::from_slice(&push.stdout).unwrap();
    let counts = &run["counts"];
    assert_eq!(counts["consents_seen"].as_u64(), Some(consents), "{run}");
    let matched = counts["matched"].as_u64().unwrap();
    assert!(matched > 0 && matched <= consents, "{run}");
    // The first run sends the whole list (unless the server's own schedule got there first,
    // which it checks only at start and then every ten minutes).
    let added = counts["added"].as_u64().unwrap();
    assert!(added == matched || added == 0, "{run}");
}

/// Writes `n` demo entities as an import CSV, with invalid rows at the given 1-based rows.
fn write_import_csv(path: &std::path::Path, n: u64, bad_rows: &[usize]) -> Vec<String> {
    let spec = amr_registry::demo::DemoSpec {
        seed: 99,
        entities: n,
        province: "37".into(),
    };
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record([
        "uscc",
        "name",
        "entity_type",
        "legal_rep",
        "legal_rep_id",
        "phone",
        "capital",
        "established",
        "address",
        "division",
        "scope",
        "industry",
        "status",
    ])
    .unwrap();
    let mut usccs = Vec::new();
    let mut row = 0;
    for e in amr_registry::demo::Generator::new(spec).unwrap() {
        row += 1;
        if bad_rows.contains(&row) {
            w.write_record([
                "91350100M000100Y4Z",
                "坏行",
                "",
                "某",
                "",
                "",
                "",
                "2020-13-01",
                "x",
                "370102",
                "",
                "5299",
                "",
            ])
            .unwrap();
            row += 1;
        }
        usccs.push(e.uscc.clone());
        w.write_record([
            e.uscc.as_str(),
            &e.name,
            e.entity_type.as_str(),
            &e.legal_rep,
            e.legal_rep_id.as_deref().unwrap_or(""),
            e.phone.as_deref().unwrap_or(""),
            &e.capital_yuan.map(|c| c.to_string()).unwrap_or_default(),
            &e.established.to_string(),
            &e.address,
            &e.division,
            &e.scope,
            &e.industry,
            e.status.as_str(),
        ])
        .unwrap();
    }
    w.flush().unwrap();
    usccs
}

fn count_entities(url: &str) -> i64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = amr_kernel::db::Db::connect(url).await.unwrap();
        let n = amr_registry::store::count_scoped(
            &db,
            &amr_kernel::auth::Scope::all(),
            &amr_registry::store::EntityFilter::default(),
        )
        .await
        .unwrap();
        db.close().await;
        n
    })
}

#[test]
fn import_entities_reports_bad_rows_and_survives_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/amr.db", dir.path().display());
    let file = dir.path().join("entities.csv");
    let usccs = write_import_csv(&file, 20_000, &[10, 15_000]);
    assert_eq!(usccs.len(), 20_000);
    let out = amr()
        .args(["--database-url", &db, "migrate"])
        .output()
        .unwrap();
    assert!(out.status.success());
    // Start, kill -9 once some batches are in, then run the same command again.
    let mut child = amr()
        .args([
            "--database-url",
            &db,
            "import",
            "entities",
            file.to_str().unwrap(),
            "--batch",
            "500",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while count_entities(&db) < 1000 {
        assert!(
            std::time::Instant::now() < deadline,
            "the import made no progress"
        );
        if child.try_wait().unwrap().is_some() {
            break; // finished before we could kill it: the resume path is then trivial
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    let partial = count_entities(&db);
    assert!(partial > 0);
    let out = amr()
        .args([
            "--database-url",
            &db,
            "import",
            "entities",
            file.to_str().unwrap(),
            "--batch",
            "500",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "bad rows make the exit code 1");
    assert_eq!(
        count_entities(&db),
        20_000,
        "nothing lost, nothing twice (killed at {partial})"
    );
    let report = std::fs::read_to_string(format!("{}.errors.csv", file.display())).unwrap();
    // Each bad row once per bad field: (row, field) pairs, no repeats after the resume.
    let pairs: Vec<(String, String)> = report
        .lines()
        .skip(1)
        .map(|l| {
            let mut parts = l.splitn(3, ',');
            (
                parts.next().unwrap().to_string(),
                parts.next().unwrap().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = ["10", "15000"]
        .iter()
        .flat_map(|r| {
            [
                (r.to_string(), "uscc".to_string()),
                (r.to_string(), "established".to_string()),
            ]
        })
        .collect();
    assert_eq!(pairs, expected, "{report}");
    // A finished job is not run again.
    let out = amr()
        .args([
            "--database-url",
            &db,
            "import",
            "entities",
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(count_entities(&db), 20_000);
    assert!(
        String::from_utf8(out.stdout).unwrap().contains("20002"),
        "rows counted"
    );
}

#[test]
fn import_entities_from_xlsx_with_chinese_headers_dates_and_numbers() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/amr.db", dir.path().display());
    let file = dir.path().join("登记.xlsx");
    let spec = amr_registry::demo::DemoSpec {
        seed: 7,
        entities: 300,
        province: "37".into(),
    };
    let entities: Vec<_> = amr_registry::demo::Generator::new(spec).unwrap().collect();
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let date = Format::new().set_num_format("yyyy/m/d");
    let headers = [
        "统一社会信用代码",
        "名称",
        "类型",
        "法定代表人",
        "证件号码",
        "联系电话",
        "注册资本",
        "成立日期",
        "住所",
        "行政区划代码",
        "经营范围",
        "行业代码",
        "登记状态",
    ];
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (i, e) in entities.iter().enumerate() {
        let r = i as u32 + 1;
        sheet.write_string(r, 0, e.uscc.as_str()).unwrap();
        sheet.write_string(r, 1, &e.name).unwrap();
        sheet.write_string(r, 2, e.entity_type.as_str()).unwrap();
        sheet.write_string(r, 3, &e.legal_rep).unwrap();
        if let Some(id) = &e.legal_rep_id {
            sheet.write_string(r, 4, id).unwrap();
        }
        if let Some(c) = e.capital_yuan {
            sheet.write_number(r, 6, c as f64).unwrap(); // a number cell: 500000, not 500000.0
        }
        let d = ExcelDateTime::from_ymd(
            e.established.format("%Y").to_string().parse().unwrap(),
            e.established.format("%m").to_string().parse().unwrap(),
            e.established.format("%d").to_string().parse().unwrap(),
        )
        .unwrap();
        sheet.write_datetime_with_format(r, 7, &d, &date).unwrap(); // a date cell
        sheet.write_string(r, 8, &e.address).unwrap();
        sheet
            .write_number(r, 9, e.division.parse::<f64>().unwrap())
            .unwrap();
        sheet.write_string(r, 10, &e.scope).unwrap();
        sheet.write_string(r, 11, &e.industry).unwrap();
        sheet.write_string(r, 12, e.status.as_str()).unwrap();
    }
    // Row 302: a code typed as a number (Excel has rounded it); row 303 blank; row 304 a bad date.
    sheet
        .write_number(301, 0, 913_701_000_000_000_000.0)
        .unwrap();
    sheet.write_string(301, 1, "济南数字示例有限公司").unwrap();
    sheet
        .write_string(303, 0, entities[0].uscc.as_str())
        .unwrap();
    sheet.write_string(303, 1, "济南日期示例有限公司").unwrap();
    sheet.write_string(303, 7, "2020-02-30").unwrap();
    book.save(&file).unwrap();

    let out = amr()
        .args(["--database-url", &db, "migrate"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = amr()
        .args([
            "--database-url",
            &db,
            "import",
            "entities",
            file.to_str().unwrap(),
            "--batch",
            "100",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "two bad rows: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(count_entities(&db), 300, "{stdout}");
    let report = std::fs::read_to_string(format!("{}.errors.csv", file.display())).unwrap();
    let rows: Vec<&str> = report
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert!(rows.iter().all(|r| *r == "301" || *r == "303"), "{report}");
    assert!(rows.contains(&"301") && rows.contains(&"303"), "{report}");
    assert!(
        report.contains("15"),
        "the rounded number is explained: {report}"
    );
    // The date and the capital arrived as written.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let stored = rt.block_on(async {
        let db = amr_kernel::db::Db::connect(&db).await.unwrap();
        let e = amr_registry::store::get_scoped(
            &db,
            &amr_kernel::auth::Scope::all(),
            &entities[5].uscc,
        )
        .await
        .unwrap();
        db.close().await;
        e
    });
    assert_eq!(stored.established, entities[5].established);
    assert_eq!(stored.capital_yuan, entities[5].capital_yuan);
    assert_eq!(stored.division, entities[5].division);

    // A header the importer does not know is refused before anything is written.
    let bad = dir.path().join("bad.xlsx");
    let mut book = Workbook::new();
    book.add_worksheet().write_string(0, 0, "注册号码").unwrap();
    book.save(&bad).unwrap();
    let refused = |file: &std::path::Path| {
        let out = amr()
            .args([
                "--database-url",
                &db,
                "import",
                "entities",
                file.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = refused(&bad);
    assert!(err.contains("未知的列"), "{err}");
    // Not a workbook at all.
    std::fs::write(&bad, b"not a zip").unwrap();
    let err = refused(&bad);
    assert!(err.contains("XLSX"), "{err}");
    assert_eq!(count_entities(&db), 300);
}
