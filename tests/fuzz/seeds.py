#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, extracted from tests/data/ (and the
YAML the repository ships): tools/fuzz.sh runs it as

    tests/fuzz/seeds.py OUTDIR [TARGET...]

and it writes OUTDIR/<target>/seed-<sha1> files (content-addressed: running
it again adds nothing new; it never deletes). Small hand-picked seeds in
tests/fuzz/seeds/<target>/ are copied as they are. Prints one line per
target: "seeds: <target> <count>". Needs python3 and python3-yaml.
"""
import glob
import hashlib
import json
import os
import sys

import yaml

TARGETS = ["review", "yaml", "kubeconfig", "scenario", "compare", "defaults"]
GROUP = "gateway.networking.k8s.io"
MAX_SEED = 64 * 1024


class Loader(yaml.SafeLoader):
    """SafeLoader whose timestamps stay strings (JSON has no dates)."""


Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_all(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [d for d in yaml.load_all(f, Loader=Loader) if d is not None]
    except (yaml.YAMLError, UnicodeDecodeError, OSError):
        return []


def cases(path):
    docs = load_all(path)
    out = []
    for d in docs:
        if isinstance(d, list):
            out.extend(c for c in d if isinstance(c, dict))
    return out


def dumps(v, compact=True):
    if compact:
        return json.dumps(v, separators=(",", ":"), ensure_ascii=False)
    return json.dumps(v, indent=2, ensure_ascii=False)


def review_body(obj, old=None, op="CREATE", version="admission.k8s.io/v1", uid="seed"):
    api = obj.get("apiVersion", "") if isinstance(obj, dict) else ""
    group, _, ver = api.rpartition("/")
    kind = obj.get("kind", "") if isinstance(obj, dict) else ""
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    req = {
        "uid": uid,
        "kind": {"group": group, "version": ver, "kind": kind},
        "resource": {"group": group, "version": ver, "resource": str(kind).lower() + "s"},
        "operation": op,
        "userInfo": {"username": "fuzz"},
        "object": obj,
        "oldObject": old,
        "dryRun": False,
    }
    if isinstance(meta.get("namespace"), str):
        req["namespace"] = meta["namespace"]
    if isinstance(meta.get("name"), str):
        req["name"] = meta["name"]
    return dumps({"apiVersion": version, "kind": "AdmissionReview", "request": req})


def deep_body(n, arrays):
    inner = "1"
    for _ in range(n):
        inner = "[" + inner + "]" if arrays else '{"a":' + inner + "}"
    return ('{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",'
            '"request":{"uid":"deep","operation":"CREATE","object":' + inner + "}}")


def objects():
    """Every object of the examples and of the rule and defaulting cases."""
    for path in sorted(glob.glob("tests/data/examples/**/*.yaml", recursive=True)):
        for d in load_all(path):
            if isinstance(d, dict):
                yield d, None, "CREATE"
    for path in sorted(glob.glob("tests/data/rules/*.yaml") + glob.glob("tests/data/defaults/*.yaml")):
        for c in cases(path):
            obj = c.get("object")
            if isinstance(obj, dict):
                op = c.get("operation", "CREATE")
                yield obj, c.get("old"), op if isinstance(op, str) else "CREATE"


def seeds_review():
    for path in sorted(glob.glob("tests/data/reviews/*.yaml")):
        for c in cases(path):
            if isinstance(c.get("raw_body"), str):
                yield c["raw_body"]
            elif isinstance(c.get("deep"), int):
                yield deep_body(min(c["deep"], 70), bool(c.get("deep_arrays")))
            elif "review" in c:
                yield dumps(c["review"])
            elif "request" in c:
                yield dumps({"apiVersion": c.get("review_version", "admission.k8s.io/v1"),
                             "kind": "AdmissionReview", "request": c["request"]})
    for obj, old, op in objects():
        yield review_body(obj, old, op)


def yaml_files():
    pats = ["tests/data/**/*.yaml", "tests/data/**/*.yml", "tests/data/**/*.kubeconfig",
            "conformance/**/*.yaml", "deploy/**/*.yaml"]
    files = set()
    for p in pats:
        files.update(glob.glob(p, recursive=True))
    return sorted(files)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def chunks(text, size=8192):
    """A long YAML list file cut at its top-level items into pieces of about size bytes."""
    lines = text.split(b"\n")
    out, cur = [], []
    n = 0
    for ln in lines:
        if ln.startswith(b"- ") and n >= size:
            out.append(b"\n".join(cur) + b"\n")
            cur, n = [], 0
        cur.append(ln)
        n += len(ln) + 1
    if cur:
        out.append(b"\n".join(cur) + b"\n")
    return out


def seeds_yaml():
    for path in yaml_files():
        data = read(path)
        if len(data) <= MAX_SEED:
            yield data
        if len(data) > 16384:
            yield from chunks(data)


def seeds_kubeconfig():
    files = glob.glob("tests/data/kubeconfig/**/*.kubeconfig", recursive=True)
    files += glob.glob("tests/data/kubeconfig/home/**/config", recursive=True)
    for path in sorted(files):
        yield read(path)


def seeds_scenario():
    files = glob.glob("conformance/scenarios/*.yaml")
    for sub in ("good", "bad", "dup"):
        files += glob.glob("tests/data/scenario/%s/*.yaml" % sub)
    for path in sorted(files):
        yield read(path)


def seeds_compare():
    for path in sorted(glob.glob("tests/data/compare/*.yaml")):
        for c in cases(path):
            if c.get("kind", "compare") not in ("compare", "expect_failure", "case_name"):
                continue
            got = dict(c.get("got") or {})
            echo = got.pop("echo", None)
            case = {k: c[k] for k in ("sent", "scheme", "want") if k in c}
            if echo is None:
                got["json"] = False
            case["got"] = got
            body = dumps(echo, compact=False) if echo is not None else ""
            yield body.encode() + b"\0" + dumps(case).encode()
            if echo is not None:
                yield dumps(echo, compact=False)


def seeds_defaults():
    for obj, _, _ in objects():
        yield dumps(obj)


SOURCES = {
    "review": seeds_review,
    "yaml": seeds_yaml,
    "kubeconfig": seeds_kubeconfig,
    "scenario": seeds_scenario,
    "compare": seeds_compare,
    "defaults": seeds_defaults,
}


def put(outdir, data):
    if isinstance(data, str):
        data = data.encode()
    if len(data) > MAX_SEED:
        return 0
    path = os.path.join(outdir, "seed-" + hashlib.sha1(data).hexdigest())
    if not os.path.exists(path):
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.replace(path + ".tmp", path)
    return 1


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: tests/fuzz/seeds.py OUTDIR [TARGET...]")
    outdir = sys.argv[1]
    targets = sys.argv[2:] or TARGETS
    for t in targets:
        if t not in SOURCES:
            sys.exit("seeds.py: unknown target %s" % t)
        d = os.path.join(outdir, t)
        os.makedirs(d, exist_ok=True)
        n = 0
        seen = set()
        for s in SOURCES[t]():
            key = s if isinstance(s, bytes) else s.encode()
            if key in seen:
                continue
            seen.add(key)
            n += put(d, s)
        for path in sorted(glob.glob("tests/fuzz/seeds/%s/*" % t)):
            n += put(d, read(path))
        print("seeds: %s %d" % (t, n))


if __name__ == "__main__":
    main()
