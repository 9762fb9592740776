#!/usr/bin/env python3
"""Writes a large contract-like text for the throughput figure of `amr review contract`.

Usage: gen_text.py LABELLED.jsonl OUT.txt MEGABYTES [SEED]
Lines are drawn (seeded) from the labelled set's texts (violations and neutral clauses) and
from neutral contract boilerplate, numbered as articles, ~1 violation in 8 lines."""
import json, random, sys

src, out, mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 7)
rows = [json.loads(l) for l in open(src, encoding='utf-8') if l.strip()]
bad = [r['text'] for r in rows if r['label'] == 'violation']
good = [r['text'] for r in rows if r['label'] == 'ok']
boiler = [
    "甲方应按照国家标准和行业规范提供服务，保证服务质量符合合同约定。",
    "乙方有权了解服务的具体内容、收费标准和服务期限。",
    "本合同履行期间，双方应当遵循诚实信用原则，履行通知、协助、保密等义务。",
    "合同附件与本合同具有同等法律效力，附件内容与本合同不一致的，以本合同为准。",
    "任何一方变更通讯地址的，应在变更之日起五日内书面通知对方。",
    "因不可抗力不能履行合同的，根据不可抗力的影响，部分或者全部免除责任。",
    "甲方收取费用后应当向乙方出具正式发票或收据。",
    "双方在履行本合同过程中发生争议的，可以协商解决，协商不成的，可以依法向人民法院起诉。",
]
target = mb * 1024 * 1024
n = 0
with open(out, 'w', encoding='utf-8') as f:
    size = 0
    while size < target:
        n += 1
        r = rng.random()
        line = rng.choice(bad) if r < 0.125 else rng.choice(good) if r < 0.4 else rng.choice(boiler)
        s = f"第{n}条 {line}\n"
        f.write(s)
        size += len(s.encode('utf-8'))
print(f"{out}: {size} bytes, {n} lines")
