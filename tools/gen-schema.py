#!/usr/bin/env python3
"""Generate webhook/schema_gen.c from the rule tables of the validation spec.

The spec (shared/spec/validation.md) lists, per kind, the standard v1 schema
as a flat table of generic paths, then for every other version and for the
experimental channel only the difference. This script resolves those diffs
into one complete row table per (kind, channel, version), collects the CEL
rule instances that apply there (ID, path, message; the checks themselves
are hand-written C in webhook/cel_*.c), and writes them as C data.

The spec describes upstream main just after v1.6.1: its sets form bundle
"main". Each --bundle=FILE (tools/bundle-*.txt, format in the header of
tools/bundle-v1.6.txt) adds the sets of one release as a delta on them:
"v1.6" (the released v1.6.x CRDs, the validator's default) and "v1.2".

Usage: tools/gen-schema.py [--bundle=FILE...] [SPEC] > webhook/schema_gen.c
       tools/gen-schema.py --rows [SPEC]   # spec rows, one per line (coverage)
       tools/gen-schema.py --cel [SPEC]    # the spec's rule texts and their places
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


BUNDLE_VERBS = ("bundle", "channels", "scope", "serve", "drop", "add", "set", "enum", "nocel",
                "message", "cel")
SET_COUNTS = ("min_len", "max_len", "min_items", "max_items", "max_props")
FORMATS = {"int32": "int32", "int64": "int64", "date-time": "date-time", "none": None}


def load_bundle(path):
    """Parse a bundle delta file (format: see the header of tools/bundle-v1.6.txt).

    Returns {"name", "channels", "serve", "ops"}; ops are (verb, scope, args,
    where) in file order, scope None (every channel) or a channel name."""
    m = re.search(r"bundle-([^/]+)\.txt$", path)
    b = {"name": m[1] if m else None, "channels": ["standard"], "serve": {}, "ops": []}
    scope = None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            where = "%s:%d" % (path, n)
            verb, rest = (line.split(None, 1) + [""])[:2]
            if verb not in BUNDLE_VERBS:
                raise SystemExit("gen-schema: %s: unknown verb %r" % (where, verb))
            if verb == "bundle":
                b["name"] = rest.strip()
            elif verb == "channels":
                b["channels"] = rest.split()
                for ch in b["channels"]:
                    if ch not in ("standard", "experimental"):
                        raise SystemExit("gen-schema: %s: unknown channel %r" % (where, ch))
            elif verb == "scope":
                if rest not in ("all", "standard", "experimental"):
                    raise SystemExit("gen-schema: %s: scope all|standard|experimental" % where)
                scope = None if rest == "all" else rest
            elif verb == "serve":
                kind, *vers = rest.split()
                b["serve"][kind] = vers
            elif verb == "drop":
                kind, rpath = rest.split()
                b["ops"].append((verb, scope, (kind, rpath), where))
            elif verb == "add":
                head, *cells = [c.strip() for c in rest.split("|")]
                kind, rpath, typ = head.split()
                cells = ([typ] + cells + ["", "", ""])[:4]
                try:
                    row = parse_full_row(rpath, cells)
                except SystemExit as e:
                    raise SystemExit("%s (%s)" % (e, where))
                b["ops"].append((verb, scope, (kind, rpath, row), where))
            elif verb == "set":
                kind, rpath, *kv = rest.split()
                kv = dict(x.split("=", 1) for x in kv)
                for key, val in kv.items():
                    ok = (key == "required" and val in ("0", "1")) or \
                         (key in SET_COUNTS and re.fullmatch(r"-1|\d+|none", val)) or \
                         (key in ("min", "max") and re.fullmatch(r"-?\d+|none", val)) or \
                         (key == "format" and val in FORMATS) or \
                         (key == "pattern" and re.fullmatch(r"P\d\d|none", val))
                    if not ok:
                        raise SystemExit("gen-schema: %s: bad set %s=%s" % (where, key, val))
                b["ops"].append((verb, scope, (kind, rpath, kv), where))
            elif verb == "enum":
                kind, rpath, vals = rest.split()
                b["ops"].append((verb, scope, (kind, rpath, vals.split(",")), where))
            elif verb == "nocel":
                kind, *ids = rest.split()
                b["ops"] += [(verb, scope, (kind, i), where) for i in ids]
            elif verb == "message":
                kind, rid, text = rest.split(None, 2)
                b["ops"].append((verb, scope, (kind, rid, text), where))
            elif verb == "cel":
                kind, rid, rpath, canon, msg = rest.split(None, 4)
                b["ops"].append((verb, scope, (kind, rid, rpath, canon, msg), where))
    if not b["name"]:
        raise SystemExit("gen-schema: %s: no bundle name" % path)
    return b


def parent_path(p):
    if p.endswith("[]") or p.endswith("{}"):
        return p[:-2]
    return p.rsplit(".", 1)[0] if "." in p else ""


def under(p, path):
    return p == path or p.startswith(path + ".") or p.startswith(path + "[") or \
        p.startswith(path + "{")


def apply_bundle(b, kind, channel, rows, cel, used):
    """Apply b's ops in file order to one set; count in used[i] the sets op i changed."""
    rows = {p: dict(r) for p, r in rows.items()}
    cel = list(cel)
    for i, (verb, scope, args, where) in enumerate(b["ops"]):
        if args[0] != kind or scope not in (None, channel):
            continue
        hit = False
        if verb == "drop":
            for p in [p for p in rows if under(p, args[1])]:
                del rows[p]
                hit = True
        elif verb == "add":
            path, row = args[1], args[2]
            if path in rows:
                raise SystemExit("gen-schema: %s: %s %s already has %s" % (where, kind, channel,
                                                                          path))
            if parent_path(path) == "" or parent_path(path) in rows:
                rows[path] = dict(row)
                hit = True
        elif verb == "set" and args[1] in rows:
            r = rows[args[1]]
            for key, val in args[2].items():
                if key == "required":
                    r["required"] = val == "1"
                elif key == "format":
                    r["format"] = FORMATS[val]
                elif val == "none" or (key in SET_COUNTS and int(val) < 0):
                    r.pop(key, None)
                else:
                    r[key] = val if key == "pattern" else int(val)
            hit = True
        elif verb == "enum" and args[1] in rows:
            rows[args[1]]["enum"] = args[2]
            hit = True
        elif verb == "nocel":
            n = len(cel)
            cel = [c for c in cel if c[0] != args[1]]
            hit = len(cel) != n
        elif verb == "message":
            new = [(c[0], c[1], c[2], args[2] if c[0] == args[1] else c[3]) for c in cel]
            hit = new != cel
            cel = new
        elif verb == "cel" and args[2] in rows:
            # The rule text is not known here: "@CANON" stands for it (see emit()).
            cel.append((args[1], args[2], "@" + args[3], args[4]))
            hit = True
        used[i] += hit
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


HEAD = "main"  # the bundle of the spec's own tables (upstream main just after v1.6.1)


def all_sets(kinds, bundles):
    """(bundle, kind, channel, version, served, storage, deprecated, rows, cel).

    First the spec's tables as bundle "main", then each bundle in the order
    given, as its delta applied to them. A bundle that names versions with
    `serve` has exactly those served (and none deprecated); else every
    version keeps the spec's flags."""
    for k in kinds:
        for ch, ver, served, storage, dep, rows, cel in resolve(k):
            yield HEAD, k.name, ch, ver, served, storage, dep, rows, cel
    for b in bundles:
        used = [0] * len(b["ops"])
        for k in kinds:
            for ch, ver, served, storage, dep, rows, cel in resolve(k):
                if ch not in b["channels"]:
                    continue
                if b["serve"]:
                    if ver not in b["serve"].get(k.name, []):
                        continue
                    served, dep = True, False
                rows2, cel2 = apply_bundle(b, k.name, ch, rows, cel, used)
                yield b["name"], k.name, ch, ver, served, storage, dep, rows2, cel2
        for (verb, scope, args, where), n in zip(b["ops"], used):
            if not n:
                raise SystemExit("gen-schema: %s: %s %s changes no %s set" % (
                    where, verb, " ".join(str(a) for a in args[:2]), scope or "served"))


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
    for b in bundles:
        for verb, scope, args, where in b["ops"]:
            if verb == "cel":
                canon.setdefault("@" + args[3], args[3])
    tables = {}
    celtabs = {}  # identical rule lists share one array
    sets = []
    for bundle, kname, ch, ver, served, storage, dep, rows, cel in all_sets(kinds, bundles):
        body = []
        for p in order_rows(rows):
            r = rows[p]
            body.append(row_c(r, enums))
        key = "\n".join(body)
        if key not in tables:
            tables[key] = "rows_%d" % len(tables)
        ckey = tuple(cel)
        if cel and ckey not in celtabs:
            celtabs[ckey] = "cel_%d" % len(celtabs)
        sets.append((kname, ch, ver, served, storage, dep, tables[key], len(rows),
                     celtabs.get(ckey), cel, bundle))
    for e, name in enums.items():
        vals = ", ".join(c_str(v) for v in json.loads(e))
        w("static const char *const %s[] = {%s, NULL};\n" % (name, vals))
    w("\n")
    for key, name in tables.items():
        w("static const struct schema_row %s[] = {\n%s\n};\n\n" % (name, key))
    for cel, cname in celtabs.items():
        w("static const struct schema_cel %s[] = {\n" % cname)
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
    bundles = [load_bundle(b) for b in bundle_files]
    names = [HEAD] + [b["name"] for b in bundles]
    if len(set(names)) != len(names):
        raise SystemExit("gen-schema: bundle names repeat: %s" % " ".join(names))
    emit(kinds, sys.stdout, bundles)


if __name__ == "__main__":
    main(sys.argv)
