//! `amr inspect verify BUNDLE.json` as a third party runs it: a bundle made by the engine
//! verifies; a changed target list, seed, sample or crew each fail with exit 1; an unreadable
//! file exits 2.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use amr_supervision::draw::model::SeedSource;
use amr_supervision::draw::{self, synth};

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

fn verify(path: &Path) -> (i32, String) {
    let out = amr()
        .args(["inspect", "verify", "--quiet"])
        .arg(path)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A bundle of 5,000 synthetic targets, 12 tasks, a committed secret and a public value.
fn bundle_json() -> Value {
    let items = synth::items();
    let mut plan = synth::plan(&items, 12, 3);
    plan.public_value_source = Some("上证指数 2026-12-01 收盘点位".into());
    let secret = b"a secret drawn before the plan was published";
    let public_value = "3401.27";
    let seed = draw::seed_from(secret, public_value);
    let b = draw::make_bundle(
        plan,
        items.clone(),
        synth::targets(5_000, 3),
        synth::inspectors(&items, 2, 3),
        SeedSource {
            commitment: Some(draw::commitment(secret)),
            secret: Some(hex::encode(secret)),
            public_value: Some(public_value.into()),
            seed: hex::encode(seed),
        },
        BTreeMap::new(),
        &|_| {},
    )
    .unwrap();
    assert!(b.visits.len() > 100);
    assert!(b.visits.iter().any(|v| v.tasks.len() >= 2));
    let mut buf = Vec::new();
    draw::write_bundle(&mut buf, &b).unwrap();
    serde_json::from_slice(&buf).unwrap()
}

fn write(dir: &Path, name: &str, v: &Value) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec(v).unwrap()).unwrap();
    p
}

#[test]
fn a_published_bundle_verifies_and_every_change_fails() {
    let dir = tempfile::tempdir().unwrap();
    let good = bundle_json();

    let (code, text) = verify(&write(dir.path(), "good.json", &good));
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("结论：全部一致"), "{text}");

    // A changed target list: one target's risk class moved (the published hash no longer fits).
    let mut v = good.clone();
    let t = &mut v["targets"][17];
    let risk = t["risk"].as_str().unwrap().to_string();
    t["risk"] = Value::from(if risk == "D" { "A" } else { "D" });
    let (code, text) = verify(&write(dir.path(), "targets.json", &v));
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("不一致 (DIFFERS) 检查对象名录哈希"), "{text}");

    // A target dropped and the hash recomputed to match: the samples no longer follow.
    let mut v = good.clone();
    let first_sampled = v["samples"][0]["sampled"][0].as_str().unwrap().to_string();
    let list = v["targets"].as_array_mut().unwrap();
    list.retain(|t| t["uscc"] != first_sampled.as_str());
    let set: draw::TargetSet = serde_json::from_value(v["targets"].clone()).unwrap();
    v["targets_hash"] = Value::from(draw::targets_hash(&set).unwrap());
    let (code, text) = verify(&write(dir.path(), "targets2.json", &v));
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("不一致 (DIFFERS) 各任务样本"), "{text}");

    // A changed seed: it no longer follows from the secret and the public value.
    let mut v = good.clone();
    let s = v["seed"]["seed"].as_str().unwrap();
    let flipped = format!("{}{}", if &s[..1] == "0" { "1" } else { "0" }, &s[1..]);
    v["seed"]["seed"] = Value::from(flipped.clone());
    let (code, text) = verify(&write(dir.path(), "seed.json", &v));
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("不一致 (DIFFERS) 随机种子"), "{text}");

    // A seed given directly (no commitment, no secret) that is not the one drawn with.
    let mut v = good.clone();
    v["seed"] = serde_json::json!({"seed": flipped});
    v["plan"]["public_value_source"] = Value::Null;
    let (code, text) = verify(&write(dir.path(), "seed2.json", &v));
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("不一致 (DIFFERS) 各任务样本"), "{text}");

    // A changed sample: one sampled USCC replaced by a target that was not drawn.
    let mut v = good.clone();
    let drawn: std::collections::HashSet<String> = v["visits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["uscc"].as_str().unwrap().to_string())
        .collect();
    let other = v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["uscc"].as_str().unwrap().to_string())
        .find(|u| !drawn.contains(u))
        .unwrap();
    v["samples"][0]["sampled"][0] = Value::from(other);
    let (code, text) = verify(&write(dir.path(), "sample.json", &v));
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("不一致 (DIFFERS) 各任务样本"), "{text}");

    // A changed crew: another inspector of the same department put in.
    let mut v = good.clone();
    let visit = v["visits"]
        .as_array()
        .unwrap()
        .iter()
        .position(|x| !x["crews"].as_array().unwrap().is_empty())
        .unwrap();
    let dept = v["visits"][visit]["crews"][0]["department"]
        .as_str()
        .unwrap()
        .to_string();
    let current: Vec<Value> = v["visits"][visit]["crews"][0]["inspectors"]
        .as_array()
        .unwrap()
        .clone();
    let substitute = v["inspectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["department"] == dept.as_str() && !current.contains(&i["id"]))
        .unwrap()["id"]
        .clone();
    v["visits"][visit]["crews"][0]["inspectors"][0] = substitute;
    let (code, text) = verify(&write(dir.path(), "crew.json", &v));
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("不一致 (DIFFERS) 执法人员选派"), "{text}");
    assert!(text.contains("结论：不一致"), "{text}");

    // Not a bundle at all.
    let p = dir.path().join("junk.json");
    std::fs::write(&p, b"{\"format\": 1").unwrap();
    let (code, text) = verify(&p);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("无法读取抽查结果包"), "{text}");
}
