#!/usr/bin/env python3
"""One request to the local control plane as its admin, printed the way a
user sees it from kubectl: the HTTP status, every Warning header (kubectl
prints them as "Warning: ..."), and for an error the Status message.

    kreq.py CLUSTER_DIR METHOD PATH [BODY]

BODY is JSON text, or @FILE, or YAML when it does not start with '{'. The
output is lines:

    HTTP 201
    WARNING: spec.parentRefs[0]: Not found: ...
    MESSAGE: admission webhook "..." denied the request: ...

Exit status 0 whatever the HTTP status (the test reads it); 2 when the
request could not be made.
"""
import json
import os
import ssl
import sys
import urllib.error
import urllib.request

import yaml


def body_of(arg):
    if arg.startswith("@"):
        with open(arg[1:], encoding="utf-8") as f:
            arg = f.read()
    if not arg.lstrip().startswith("{"):
        arg = json.dumps(yaml.safe_load(arg))
    return arg.encode()


def warnings_of(headers):
    out = []
    for value in headers.get_all("Warning") or []:
        # 299 - "text" (several may share a header, comma-separated)
        rest = value
        while rest:
            rest = rest.strip().lstrip(",").strip()
            if not rest.startswith("299"):
                break
            q = rest.find('"')
            if q < 0:
                break
            i, text = q + 1, []
            while i < len(rest) and rest[i] != '"':
                if rest[i] == "\\" and i + 1 < len(rest):
                    i += 1
                text.append(rest[i])
                i += 1
            out.append("".join(text))
            rest = rest[i + 1:]
    return out


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    d, method, path = sys.argv[1:4]
    data = body_of(sys.argv[4]) if len(sys.argv) > 4 else None
    ctx = ssl.create_default_context(cafile=os.path.join(d, "pki", "ca.crt"))
    ctx.load_cert_chain(os.path.join(d, "pki", "admin.crt"), os.path.join(d, "pki", "admin.key"))
    with open(os.path.join(d, "apiserver.url"), encoding="utf-8") as f:
        base = f.read().strip()
    ctype = "application/merge-patch+json" if method == "PATCH" else "application/json"
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
            code, headers, raw = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        code, headers, raw = e.code, e.headers, e.read()
    except (urllib.error.URLError, OSError) as e:
        print(f"kreq: {method} {path}: {e}", file=sys.stderr)
        return 2
    print(f"HTTP {code}")
    for w in warnings_of(headers):
        print(f"WARNING: {w}")
    if code >= 400:
        try:
            print("MESSAGE: " + json.loads(raw).get("message", ""))
        except ValueError:
            print("MESSAGE: " + raw.decode(errors="replace")[:500])
    return 0


if __name__ == "__main__":
    sys.exit(main())
