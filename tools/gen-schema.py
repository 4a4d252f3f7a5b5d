#!/usr/bin/env python3
"""Generate webhook/schema_gen.c from the rule tables of the validation spec.

The spec (shared/spec/validation.md) lists, per kind, the standard v1 schema
as a flat table of generic paths, then for every other version and for the
experimental channel only the difference. This script resolves those diffs
into one complete row table per (kind, channel, version), collects the CEL
rule instances that apply there (ID, path, message; the checks themselves
are hand-written C in webhook/cel_*.c), and writes them as C data.

Usage: tools/gen-schema.py [SPEC] > webhook/schema_gen.c
       tools/gen-schema.py --rows [SPEC]   # spec rows, one per line (coverage)
"""
import json
import re
import sys

KIND_RE = re.compile(r"^### 3\.\d+ (\w+)$")
SUB_RE = re.compile(r"^#### (\w+) — (.*)$")
ROW_RE = re.compile(r"^\| `([^`]+)` \| (.*) \|$")
CEL_RE = re.compile(r"^\*\*([A-Za-z0-9-]+)\*\* at (`[^`]+`(?:, `[^`]+`)*)$")


def parse_constraints(text, row):
    for tok in [t.strip() for t in text.split(";")]:
        if not tok:
            continue
        m = re.fullmatch(r"len (\d+)\.\.(\d+)", tok)
        if m:
            row["min_len"], row["max_len"] = int(m[1]), int(m[2])
            continue
        m = re.fullmatch(r"len ≤(\d+)", tok)
        if m:
            row["max_len"] = int(m[1])
            continue
        m = re.fullmatch(r"items (\d+)\.\.(\d+)", tok)
        if m:
            row["min_items"], row["max_items"] = int(m[1]), int(m[2])
            continue
        m = re.fullmatch(r"items ≤(\d+)", tok)
        if m:
            row["max_items"] = int(m[1])
            continue
        m = re.fullmatch(r"props ≤(\d+)", tok)
        if m:
            row["max_props"] = int(m[1])
            continue
        m = re.fullmatch(r"value (-?\d+)\.\.(-?\d+)", tok)
        if m:
            row["min"], row["max"] = int(m[1]), int(m[2])
            continue
        m = re.fullmatch(r"value ≥(-?\d+)", tok)
        if m:
            row["min"] = int(m[1])
            continue
        m = re.fullmatch(r"enum \{(.*)\}", tok)
        if m:
            row["enum"] = [e.strip() for e in m[1].split(",")]
            continue
        m = re.fullmatch(r"P(\d\d)", tok)
        if m:
            row["pattern"] = "P" + m[1]
            continue
        m = re.fullmatch(r"listType=(atomic|set)", tok)
        if m:
            row["list"] = m[1]
            continue
        m = re.fullmatch(r"listType=map keys\(([^)]*)\)", tok)
        if m:
            row["list"], row["keys"] = "map", m[1]
            continue
        if tok == "mapType=atomic":
            continue
        if tok.startswith("oneOf: ") and '"format":"ipv4"' in tok:
            row["oneof_ip"] = True
            continue
        raise SystemExit("gen-schema: unknown constraint %r" % tok)


def parse_type(text, row):
    m = re.fullmatch(r"(object|array|string|integer|boolean|number)(?: \((\w[\w-]*)\))?", text)
    if not m:
        raise SystemExit("gen-schema: unknown type %r" % text)
    row["type"], row["format"] = m[1], m[2]


def new_row(path):
    return {"path": path, "required": False}


def parse_full_row(path, cells):
    typ, req, cons, dflt = [c.strip() for c in cells]
    row = new_row(path)
    parse_type(typ, row)
    row["required"] = req == "R"
    parse_constraints(cons, row)
    if dflt:
        row["default"] = dflt.strip("`")
    return row


def parse_diff_cell(path, cell):
    parts = [p.strip() for p in cell.split(" / ")]
    while len(parts) < 4:
        parts.append("")
    return parse_full_row(path, parts[:4])


class Kind:
    def __init__(self, name):
        self.name = name
        self.versions = []  # (channel, version, served, storage, deprecated)
        self.base = {}  # path -> row (standard v1, spec + status)
        self.cel = []  # (id, path, text, message) standard v1
        self.diffs = {}  # (channel, version) -> dict(rows, add_rows, cel_add, cel_del)


def parse(lines):
    kinds = []
    kind = None
    section = None  # ("base",) or ("diff", ch, ver)
    table_mode = None
    i = 0
    while i < len(lines):
        line = lines[i].rstrip("\n")
        m = KIND_RE.match(line)
        if m:
            if line.startswith("### 3.11"):
                kind = None
            else:
                kind = Kind(m[1])
                kinds.append(kind)
            section = None
            i += 1
            continue
        if line.startswith("## ") and not line.startswith("## 3."):
            kind = None
        if kind is None:
            i += 1
            continue
        m = SUB_RE.match(line)
        if m:
            head = m[2]
            if re.match(r"standard v1: (spec|status|CEL)", head):
                section = ("base",)
            else:
                hm = re.match(r"(standard|experimental) (v\w+) vs ", head)
                if not hm:
                    raise SystemExit("gen-schema: unknown heading %r" % line)
                ch, ver = hm[1], hm[2]
                section = ("diff", ch, ver)
                kind.diffs.setdefault((ch, ver), {"rows": {}, "cel_add": [], "cel_del": []})
            table_mode = None
            i += 1
            continue
        if line.startswith("| Channel | Version |"):
            i += 2
            while lines[i].startswith("|"):
                c = [x.strip() for x in lines[i].strip().strip("|").split("|")]
                kind.versions.append((c[0], c[1], c[2] == "True", c[3] == "True", c[4] == "True"))
                i += 1
            continue
        if line.startswith("Fields present only"):
            table_mode = "add"
        elif line.startswith("Fields whose constraints differ"):
            table_mode = "change"
        elif line.startswith("CEL rules present only"):
            table_mode = "cel_add"
        elif line.startswith("CEL rules present in"):
            table_mode = "cel_del"
        elif line.startswith("CEL rules on status"):
            table_mode = "cel_base"
        m = ROW_RE.match(line)
        if m and section:
            path, rest = m[1], m[2]
            cells = [c for c in rest.split(" | ")]
            if section[0] == "base":
                kind.base[path] = parse_full_row(path, cells)
            elif table_mode == "add":
                kind.diffs[section[1:]]["rows"][path] = parse_full_row(path, cells)
            elif table_mode == "change":
                kind.diffs[section[1:]]["rows"][path] = parse_diff_cell(path, cells[1])
            i += 1
            continue
        m = CEL_RE.match(line)
        if m and section:
            rid, paths = m[1], re.findall(r"`([^`]+)`", m[2])
            assert lines[i + 1].startswith("```cel")
            j = i + 2
            text = []
            while not lines[j].startswith("```"):
                text.append(lines[j].rstrip("\n"))
                j += 1
            text = "\n".join(text)
            mm = re.match(r"^message: `(.*)`$", lines[j + 1].rstrip("\n"))
            assert mm, lines[j + 1]
            for path in paths:
                inst = (rid, path, text, mm[1])
                if section[0] == "base":
                    kind.cel.append(inst)
                else:
                    key = "cel_add" if table_mode == "cel_add" else "cel_del"
                    kind.diffs[section[1:]][key].append(inst)
            i = j + 2
            continue
        i += 1
    return kinds


def resolve(kind):
    """Yield (channel, version, served, storage, deprecated, rows, cel)."""
    std_v1_rows = dict(kind.base)
    std_v1_cel = list(kind.cel)

    def apply(rows, cel, diff):
        rows = dict(rows)
        rows.update(diff["rows"])
        dels = {c[2] + "\0" + c[1] for c in diff["cel_del"]}
        cel = [c for c in cel if c[2] + "\0" + c[1] not in dels] + diff["cel_add"]
        return rows, cel

    exp = kind.diffs.get(("experimental", "v1"), {"rows": {}, "cel_add": [], "cel_del": []})
    exp_v1 = apply(std_v1_rows, std_v1_cel, exp)
    for ch, ver, served, storage, dep in kind.versions:
        base = (std_v1_rows, std_v1_cel) if ch == "standard" else exp_v1
        if ver == "v1":
            rows, cel = base
        else:
            d = kind.diffs.get((ch, ver), {"rows": {}, "cel_add": [], "cel_del": []})
            rows, cel = apply(base[0], base[1], d)
        yield ch, ver, served, storage, dep, rows, cel


def load_bundle(path):
    """Parse a bundle delta file (see tools/bundle-v1.2.txt)."""
    b = {"serve": {}, "drop": [], "set": [], "enum": [], "nocel": [], "message": []}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            verb, rest = line.split(None, 1)
            if verb == "serve":
                kind, *vers = rest.split()
                b["serve"][kind] = vers
            elif verb == "drop":
                b["drop"].append(tuple(rest.split()))
            elif verb == "set":
                kind, path, *kv = rest.split()
                b["set"].append((kind, path, dict(x.split("=") for x in kv)))
            elif verb == "enum":
                kind, path, vals = rest.split()
                b["enum"].append((kind, path, vals.split(",")))
            elif verb == "nocel":
                kind, *ids = rest.split()
                b["nocel"] += [(kind, i) for i in ids]
            elif verb == "message":
                kind, rid, text = rest.split(None, 2)
                b["message"].append((kind, rid, text))
            else:
                raise SystemExit("gen-schema: %s: unknown verb %r" % (path, verb))
    return b


def apply_bundle(b, kind, rows, cel):
    rows = {p: dict(r) for p, r in rows.items()}
    for k, path in b["drop"]:
        if k != kind:
            continue
        for p in list(rows):
            if p == path or p.startswith(path + ".") or p.startswith(path + "[") or p.startswith(path + "{"):
                del rows[p]
    for k, path, kv in b["set"]:
        if k != kind:
            continue
        r = rows[path]
        for key, val in kv.items():
            if key == "required":
                r["required"] = val == "1"
            elif int(val) < 0:
                r.pop(key, None)
            else:
                r[key] = int(val)
    for k, path, vals in b["enum"]:
        if k == kind:
            rows[path]["enum"] = vals
    gone = {i for k, i in b["nocel"] if k == kind}
    msgs = {i: t for k, i, t in b["message"] if k == kind}
    cel = [(c[0], c[1], c[2], msgs.get(c[0], c[3])) for c in cel if c[0] not in gone]
    return rows, cel


def c_str(s):
    return json.dumps(s, ensure_ascii=False)


def order_rows(rows):
    # Parents before children, spec order otherwise (the dict keeps insertion
    # order; diff additions land at the end and are re-sorted under their parent).
    paths = list(rows)
    return sorted(paths, key=lambda p: (p.split(".")[0] != "spec", path_key(p, paths)))


def path_key(p, paths):
    return p


def all_sets(kinds, bundles):
    """(bundle, kind, channel, version, served, storage, deprecated, rows, cel)."""
    for k in kinds:
        for ch, ver, served, storage, dep, rows, cel in resolve(k):
            yield "v1.6", k.name, ch, ver, served, storage, dep, rows, cel
    for name, b in bundles:
        for k in kinds:
            for ch, ver, served, storage, dep, rows, cel in resolve(k):
                if ch != "standard" or ver not in b["serve"].get(k.name, []):
                    continue
                rows2, cel2 = apply_bundle(b, k.name, rows, cel)
                yield name, k.name, ch, ver, True, storage, False, rows2, cel2


def emit(kinds, out, bundles=()):
    w = out.write
    w("/* Generated by tools/gen-schema.py from the spec's rule tables\n")
    w("   (validation.md §1.1, §2, §3, §4). Do not edit: run `make schema`. */\n")
    w('#include "schema.h"\n\n')
    enums = {}
    canon = {}
    for k in kinds:
        for c in k.cel:
            canon.setdefault(c[2], c[0])
        for d in k.diffs.values():
            for c in d["cel_add"]:
                canon.setdefault(c[2], c[0])
    tables = {}
    sets = []
    n = 0
    for bundle, kname, ch, ver, served, storage, dep, rows, cel in all_sets(kinds, bundles):
        if True:
            body = []
            for p in order_rows(rows):
                r = rows[p]
                body.append(row_c(r, enums))
            key = "\n".join(body)
            if key not in tables:
                tables[key] = "rows_%d" % len(tables)
            ckey = "\n".join("%s|%s" % (c[0], c[1]) for c in cel)
            cname = "cel_%d" % n
            n += 1
            sets.append((kname, ch, ver, served, storage, dep, tables[key], len(rows), cname, cel,
                         bundle))
    for e, name in enums.items():
        vals = ", ".join(c_str(v) for v in json.loads(e))
        w("static const char *const %s[] = {%s, NULL};\n" % (name, vals))
    w("\n")
    for key, name in tables.items():
        w("static const struct schema_row %s[] = {\n%s\n};\n\n" % (name, key))
    for s in sets:
        cel = s[9]
        if not cel:
            continue
        w("static const struct schema_cel %s[] = {\n" % s[8])
        for rid, path, text, msg in cel:
            w("    {%s, %s, %s, %s, %d},\n" % (c_str(rid), c_str(canon[text]), c_str(path),
                                            c_str(msg), int("oldSelf" in text)))
        w("};\n\n")
    w("const struct schema_set schema_sets[] = {\n")
    for name, ch, ver, served, storage, dep, rows, nrows, cname, cel, bundle in sets:
        chc = "SCH_STANDARD" if ch == "standard" else "SCH_EXPERIMENTAL"
        w("    {%s, %s, %s, %s, %d, %d, %d, %s, %d, %s, %d},\n" % (
            c_str(bundle), c_str(name), chc, c_str(ver), served, storage, dep, rows, nrows,
            cname if cel else "NULL", len(cel)))
    w("};\n\nconst size_t schema_nsets = sizeof(schema_sets) / sizeof(schema_sets[0]);\n")


def row_c(r, enums):
    f = [".path = %s" % c_str(r["path"])]
    f.append(".type = SCH_%s" % r["type"].upper())
    fmt = {None: "NONE", "int32": "INT32", "int64": "INT64", "date-time": "DATETIME"}[r.get("format")]
    f.append(".format = SCH_FMT_%s" % fmt)
    f.append(".required = %d" % r["required"])
    f.append(".min_len = %d, .max_len = %d" % (r.get("min_len", -1), r.get("max_len", -1)))
    f.append(".min_items = %d, .max_items = %d" % (r.get("min_items", -1), r.get("max_items", -1)))
    f.append(".max_props = %d" % r.get("max_props", -1))
    if "min" in r:
        f.append(".has_min = 1, .min = %d" % r["min"])
    if "max" in r:
        f.append(".has_max = 1, .max = %d" % r["max"])
    if "enum" in r:
        e = json.dumps(r["enum"])
        enums.setdefault(e, "enum_%d" % len(enums))
        f.append(".enums = %s" % enums[e])
    f.append(".pattern = RX_%s" % r.get("pattern", "NONE"))
    f.append(".list = SCH_LIST_%s" % (r.get("list") or "none").upper())
    if "keys" in r:
        f.append(".list_keys = %s" % c_str(r["keys"]))
    if "default" in r:
        f.append(".default_json = %s" % c_str(r["default"]))
    if r.get("oneof_ip"):
        f.append(".oneof_ip = 1")
    return "    {" + ", ".join(f) + "},"


def spec_rows(kinds):
    """Every row of §3 and §4 a test must cover, one per line."""
    seen = set()
    for k in kinds:
        for ch, ver, served, storage, dep, rows, cel in resolve(k):
            for p, r in rows.items():
                if p.startswith("status"):
                    continue
                has = [x for x in ("min_len", "max_len", "min_items", "max_items", "max_props",
                                   "min", "max", "enum", "pattern") if x in r]
                if r.get("list") in ("set", "map"):
                    has.append("list")
                if r["required"]:
                    has.append("required")
                if r.get("oneof_ip"):
                    has.append("oneof")
                if not has:
                    continue
                key = "§3 %s %s" % (k.name, p)
                if key not in seen:
                    seen.add(key)
                    yield key
            for c in cel:
                if c[1].startswith("status"):
                    continue
                key = "§3 %s %s" % (k.name, c[0])
                if key not in seen:
                    seen.add(key)
                    yield key
            for p, r in rows.items():
                if "default" in r and not p.startswith("status"):
                    key = "§4 %s %s" % (k.name, p)
                    if key not in seen:
                        seen.add(key)
                        yield key


def cel_list(kinds):
    """Each distinct rule text once: canonical ID, every instance, the text."""
    seen = {}
    for k in kinds:
        for ch, ver, served, storage, dep, rows, cel in resolve(k):
            for rid, path, text, msg in cel:
                e = seen.setdefault(text, {"canon": rid, "msg": msg, "at": set()})
                e["at"].add("%s %s/%s %s (%s)" % (k.name, ch, ver, path, rid))
    for text, e in seen.items():
        print("== %s  message: %s" % (e["canon"], e["msg"]))
        for a in sorted(e["at"]):
            print("   at " + a)
        print("   " + text)


def main(argv):
    rows_mode = "--rows" in argv
    if "--cel" in argv:
        with open([a for a in argv[1:] if a != "--cel"][0] if len(argv) > 2
                  else "../shared/spec/validation.md", encoding="utf-8") as f:
            cel_list(parse(f.readlines()))
        return
    args = [a for a in argv[1:] if a != "--rows"]
    bundle_files = [a.split("=", 1)[1] for a in args if a.startswith("--bundle=")]
    args = [a for a in args if not a.startswith("--bundle=")]
    path = args[0] if args else "../shared/spec/validation.md"
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    kinds = parse(lines)
    if rows_mode:
        for r in spec_rows(kinds):
            print(r)
        return
    bundles = [("v1.2", load_bundle(b)) for b in bundle_files]
    emit(kinds, sys.stdout, bundles)


if __name__ == "__main__":
    main(sys.argv)
