#!/bin/sh
# gwhook validate on hostile input: every case ends with a clear error and
# exit 2 (or a normal verdict), never a crash, a hang or a sanitizer report.
# Prints TAP. Runs the ASan/UBSan build.
set -u
cd "$(dirname "$0")/../.." || exit 2
bin=build/san/gwhook
[ -x "$bin" ] || bin=build/gwhook
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
n=0
fail=0

# check DESC FILE WANT_RC STDERR_SUBSTRING
check() {
    n=$((n + 1))
    timeout 60 "$bin" validate -q "$2" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" -eq "$3" ] && { [ -z "$4" ] || grep -q -- "$4" "$tmp/err"; } &&
        ! grep -q "AddressSanitizer\|runtime error\|LeakSanitizer" "$tmp/err"; then
        echo "ok $n - $1"
    else
        echo "not ok $n - $1 (exit $rc, want $3 and '$4')"
        sed 's/^/#   /' "$tmp/err" | head -5
        fail=1
    fi
}

python3 - "$tmp" <<'PY'
import sys, os
d = sys.argv[1]
def w(name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
# billion laughs: 10 levels of 10 aliases
lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
for i in range(1, 10):
    lines.append("a%d: &a%d [%s]" % (i, i, ",".join(["*a%d" % (i - 1)] * 10)))
w("laughs.yaml", ("\n".join(lines) + "\n").encode())
w("deep.yaml", b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n")
w("deepmap.yaml", b"".join(b"  " * i + b"k:\n" for i in range(3000)))
w("nul.yaml", b"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\x00\n")
w("binary.yaml", bytes(range(256)) * 64)
w("badutf8.yaml", b"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: \xff\xfe}\n")
w("tabs.yaml", b"apiVersion: v1\n\tkind: x\n")
w("unclosed.yaml", b'apiVersion: "gateway.networking.k8s.io/v1\nkind: Gateway\n')
w("dupkeys.yaml", b"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nkind: HTTPRoute\n")
w("inf.yaml", b"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec: {rules: [{backendRefs: [{name: s, port: .inf}]}]}\n")
w("scalar.yaml", b"just a string\n---\n42\n---\n[1, 2]\n")
w("empty.yaml", b"")
w("comments.yaml", b"# nothing but a comment\n---\n---\n")
with open(os.path.join(d, "huge.yaml"), "wb") as f:
    f.seek(65 * 1024 * 1024)
    f.write(b"\n")
PY

check "billion laughs: alias expansion is bounded" "$tmp/laughs.yaml" 2 "alias expansion"
check "5000 nested flow sequences: depth is bounded" "$tmp/deep.yaml" 2 "line"
check "3000 nested mappings: depth is bounded" "$tmp/deepmap.yaml" 2 "line"
check "a NUL byte: a clear error" "$tmp/nul.yaml" 2 "nul.yaml"
check "binary garbage: a clear error" "$tmp/binary.yaml" 2 "binary.yaml"
check "invalid UTF-8: a clear error" "$tmp/badutf8.yaml" 2 "badutf8.yaml"
check "a tab in indentation: line and column" "$tmp/tabs.yaml" 2 "line 2"
check "an unclosed quote: line and column" "$tmp/unclosed.yaml" 2 "line"
check "duplicate keys: refused as Kubernetes' reader refuses them" "$tmp/dupkeys.yaml" 2 "already"
check ".inf cannot become JSON: a clear error" "$tmp/inf.yaml" 2 "unsupported value"
check "documents that are not objects are skipped, as non-Gateway documents are" "$tmp/scalar.yaml" 0 ""
check "an empty file is fine" "$tmp/empty.yaml" 0 ""
check "comments and empty documents are fine" "$tmp/comments.yaml" 0 ""
check "a 65 MiB file is refused before it is parsed" "$tmp/huge.yaml" 2 "larger than 64 MiB"
check "a missing file: exit 2, naming it" "$tmp/missing.yaml" 2 "missing.yaml: No such file"

echo "1..$n"
exit $fail
