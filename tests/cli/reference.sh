#!/bin/sh
# Keeps docs/REFERENCE.md true to the binaries and the sources:
#   - every long option in each command's --help is in that command's
#     section of the reference (found by its heading, e.g. "## gwhook serve"),
#     and every "(default X)" of --help is in the row of the option's table;
#   - every exit status of each --help "exit status:" paragraph has a row
#     "| N | ..." in the command's section;
#   - every metric the webhook renders (a "name", "type" pair of string
#     literals in webhook/*.c and lib/*.c) has a row with that name and type
#     under "## Metrics", and every documented metric exists; the closed
#     label value sets (webhook/metrics.c, the schema's kinds, the
#     cross-object checks' names and results) are listed there;
#   - every getenv() variable of lib/, webhook/ and conformance/ is under
#     "## Environment variables";
#   - the commands of `gwhook --help` and `gwconform --help` are documented.
# Needs build/gwhook and build/gwconform (make); runs them with --help only.
#
# Run from anywhere: sh tests/cli/reference.sh. Prints TAP.
set -u
cd "$(dirname "$0")/../.." || exit 2

. tests/cli/lib/tap.sh

REF=docs/REFERENCE.md

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gwhook-reference.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

if [ ! -x build/gwhook ] || [ ! -x build/gwconform ]; then
    notok "build/gwhook and build/gwconform exist (run make)"
    echo "1..$n"
    exit 1
fi
if [ ! -f "$REF" ]; then
    notok "$REF exists"
    echo "1..$n"
    exit 1
fi

# section HEADING: the lines of $REF from the line that is exactly HEADING
# ("## gwhook serve") to the next heading of level 1 or 2, fenced code skipped
# when looking for that end.
section() {
    awk -v h="$1" '
        /^```/ { fence = !fence }
        !fence && $0 == h { on = 1; print; next }
        on && !fence && /^##? / { exit }
        on { print }' "$REF"
}

# first_cells FILE: the first cell of every table row of FILE, one per line,
# backticks dropped.
first_cells() {
    awk -F'|' '/^\|/ { gsub(/`/, "", $2); print $2 }' "$1"
}

# norm: drop markdown and quotes, squeeze blanks (to compare with --help text).
norm() {
    tr -d '\140*"\134' | tr '\t' ' ' | tr -s ' '
}

# help_defaults HELP: "--flag<TAB>default" for each option of a --help text
# whose description (continuation lines joined) says "(default X" or
# "(default: X"; X ends at ';', ',', ':' or ')'.
help_defaults() {
    awk '
        function flush(  d) {
            if (flag != "" && match(text, /\(default:? [^;,:)]*/)) {
                d = substr(text, RSTART, RLENGTH)
                sub(/^\(default:? /, "", d)
                sub(/ +$/, "", d)
                print flag "\t" d
            }
            flag = ""
            text = ""
        }
        /^  -(-[a-z]|[a-zA-Z], --)/ {
            flush()
            if (match($0, /--[a-z][a-z0-9-]*/))
                flag = substr($0, RSTART, RLENGTH)
            text = $0
            next
        }
        /^        / && flag != "" {
            t = $0
            sub(/^ +/, "", t)
            text = text " " t
            next
        }
        { flush() }
        END { flush() }' "$1"
}

# help_options HELP: the long options an option line of a --help text defines
# (the line's part before its description), one per line.
help_options() {
    awk '/^  -(-[a-z]|[a-zA-Z], --)/ {
            spec = substr($0, 3)
            sub(/  .*/, "", spec)
            while (match(spec, /--[a-z][a-z0-9-]*/)) {
                print substr(spec, RSTART, RLENGTH)
                spec = substr(spec, RSTART + RLENGTH)
            }
        }' "$1" | sort -u
}

# rows_of FLAG FILE: the table rows of FILE whose first cell names FLAG.
rows_of() {
    awk -F'|' -v f="$1" '/^\|/ { c = $2; gsub(/`/, "", c)
            if (c ~ "(^|[^a-z0-9-])" f "([^a-z0-9-]|$)") print }' "$2"
}

# exit_codes HELP: the statuses of the "exit status:" paragraph (up to a blank
# line): each comma- or semicolon-separated piece that starts with a number.
exit_codes() {
    awk '/^exit status:/ { on = 1 } on && /^$/ { exit } on { print }' "$1" |
        tr '\n' ' ' | sed 's/^exit status://' | tr ';' ',' | tr ',' '\n' |
        sed -n 's/^ *\([0-9][0-9]*\) .*/\1/p' | sort -un
}

# check_command LABEL HEADING HELPFILE: flags, defaults and exit statuses.
check_command() {
    label=$1
    heading=$2
    help=$3
    sec=$tmp/section
    section "$heading" >"$sec"
    if [ ! -s "$sec" ]; then
        notok "$label: $REF has a section '$heading' (add that heading)"
        return
    fi
    grep -o -e '--[a-z][a-z0-9-]*' "$help" | sort -u >"$tmp/flags"
    if [ ! -s "$tmp/flags" ]; then
        notok "$label: --help lists long options"
        return
    fi
    help_options "$help" >"$tmp/options"
    while IFS= read -r flag; do
        if grep -qxF -e "$flag" "$tmp/options"; then
            # an option of the command: a row of its flag table
            if [ -n "$(rows_of "$flag" "$sec")" ]; then
                ok "$label: $flag has a row in the flag table"
            else
                notok "$label: $flag (an option in its --help) has no row in the flag table under '$heading' in $REF: add '| \`$flag\` | ARG | default | meaning |'"
            fi
        elif grep -Eq -e "$flag([^a-z0-9-]|\$)" "$sec"; then
            # named in the prose of --help (another command's flag, e.g. kubectl's)
            ok "$label: $flag (named in --help) is mentioned"
        else
            notok "$label: $flag (named in its --help) is missing from $REF under '$heading'"
        fi
    done <"$tmp/flags"

    help_defaults "$help" >"$tmp/defaults"
    while IFS="$(printf '\t')" read -r flag def; do
        want=$(printf '%s\n' "$def" | norm)
        rows_of "$flag" "$sec" | norm >"$tmp/rows"
        if [ ! -s "$tmp/rows" ]; then
            : # reported above
        elif grep -qF -e "$want" "$tmp/rows"; then
            ok "$label: $flag default '$want' as in --help"
        else
            notok "$label: $flag defaults to '$want' in --help, but its row under '$heading' in $REF does not say so"
        fi
    done <"$tmp/defaults"

    exit_codes "$help" >"$tmp/codes"
    if [ ! -s "$tmp/codes" ] && grep -q '^exit status:' "$help"; then
        notok "$label: the exit statuses of its --help could be read"
    fi
    while IFS= read -r code; do
        if grep -Eq "^\| *$code *\|" "$sec"; then
            ok "$label: exit status $code is documented"
        else
            notok "$label: exit status $code (in --help) has no row '| $code | ... |' under '$heading' in $REF"
        fi
    done <"$tmp/codes"
}

# ---- the commands ----------------------------------------------------------

helps_ok=1
for c in gwhook:"" serve:serve validate:validate certs:certs; do
    name=${c%%:*}
    sub=${c#*:}
    # shellcheck disable=SC2086 # $sub is empty or one word
    if ! build/gwhook $sub --help >"$tmp/$name.help" 2>"$tmp/err"; then
        notok "gwhook $sub --help exits 0"
        diag "$tmp/err" 10
        helps_ok=0
    fi
done
if ! build/gwconform --help >"$tmp/gwconform.help" 2>"$tmp/err"; then
    notok "gwconform --help exits 0"
    diag "$tmp/err" 10
    helps_ok=0
fi
[ "$helps_ok" -eq 1 ] && ok "every --help exits 0"

check_command "gwhook" "## gwhook" "$tmp/gwhook.help"
check_command "gwhook serve" "## gwhook serve" "$tmp/serve.help"
check_command "gwhook validate" "## gwhook validate" "$tmp/validate.help"
check_command "gwhook certs" "## gwhook certs" "$tmp/certs.help"
check_command "gwconform" "## gwconform" "$tmp/gwconform.help"

# the commands of gwhook: rows of the command table under "## gwhook"
section "## gwhook" >"$tmp/sec"
first_cells "$tmp/sec" >"$tmp/cells"
awk '/^commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }' "$tmp/gwhook.help" >"$tmp/cmds"
while IFS= read -r cmd; do
    if grep -Eq "^ *$cmd( |\$)" "$tmp/cells"; then
        ok "gwhook $cmd is in the command table"
    else
        notok "gwhook $cmd (in gwhook --help) has no row in the command table under '## gwhook' in $REF"
    fi
done <"$tmp/cmds"
# the commands of gwconform: a heading each
sed -n 's/^ *\(usage: \)\{0,1\}gwconform \([a-z][a-z]*\).*/\2/p' "$tmp/gwconform.help" | sort -u >"$tmp/cmds"
while IFS= read -r cmd; do
    if grep -qx "### gwconform $cmd" "$REF"; then
        ok "gwconform $cmd has a heading"
    else
        notok "gwconform $cmd (in gwconform --help) has no heading '### gwconform $cmd' in $REF"
    fi
done <"$tmp/cmds"

# cross-object checks: documented once serve has them, a placeholder before
if grep -q -e '--check' "$tmp/serve.help"; then
    if grep -q 'documented with issue 8' "$REF"; then
        notok "gwhook serve has cross-object checks: replace the 'documented with issue 8' placeholder in $REF"
    else
        ok "cross-object checks: documented, no placeholder left"
    fi
elif section "## gwhook serve" | grep -q '^### Cross-object checks'; then
    ok "cross-object checks: placeholder heading under '## gwhook serve'"
else
    notok "cross-object checks: keep a '### Cross-object checks' heading under '## gwhook serve' in $REF"
fi

# ---- metrics ---------------------------------------------------------------

section "## Metrics" >"$tmp/metrics.md"
if [ ! -s "$tmp/metrics.md" ]; then
    notok "$REF has a section '## Metrics'"
fi
# "name", "type" pairs, the pair possibly broken over two lines
for f in webhook/*.c lib/*.c; do
    tr '\n' ' ' <"$f" |
        grep -oE '"(controller_runtime|gatecheck)_[a-z0-9_]+", *"(counter|gauge|histogram|summary)"' |
        tr -d '" ' | tr ',' ' ' | sed "s|\$| $f|"
done | sort -u -k1,1 >"$tmp/metrics"
if grep -q ' webhook/metrics.c$' "$tmp/metrics"; then
    ok "webhook/metrics.c names its metrics as \"name\", \"type\" literals"
else
    notok "webhook/metrics.c names its metrics as \"name\", \"type\" literals (update this test's extraction)"
fi
while read -r metric type file; do
    if awk -F'|' -v m="\`$metric\`" -v t="$type" \
        '/^\|/ && index($2, m) && $3 ~ "(^| )" t "( |$)" { found = 1 } END { exit !found }' \
        "$tmp/metrics.md"; then
        ok "metric $metric ($type) is documented"
    else
        notok "metric $metric ($type, $file) has no row '| \`$metric\` | $type | labels | meaning |' under '## Metrics' in $REF"
    fi
done <"$tmp/metrics"
cut -d' ' -f1 "$tmp/metrics" >"$tmp/metric_names"
first_cells "$tmp/metrics.md" | tr -d ' ' | grep -E '^(controller_runtime|gatecheck)_' | sort -u >"$tmp/documented"
stale=$(grep -vxF -f "$tmp/metric_names" "$tmp/documented" | tr '\n' ' ')
if [ -z "$stale" ]; then
    ok "every documented metric exists in the sources"
else
    notok "metrics documented under '## Metrics' but rendered nowhere: $stale(remove them from $REF)"
fi

# c_array FILE NAME: the text of the initializer of array NAME in FILE.
c_array() {
    [ -f "$1" ] || return 0
    awk -v a="$2" '!on && index($0, a "[") && /=/ { on = 1 } on { print } on && /};/ { exit }' "$1" |
        tr '\n' ' ' | sed 's/^[^=]*=//'
}
c_strings() { c_array "$1" "$2" | grep -o '"[^"]*"' | tr -d '"'; }

# label_set NAME VALUES...: every value is under "## Metrics", in backticks.
label_set() {
    what=$1
    shift
    if [ $# -eq 0 ]; then
        notok "label values of $what found in the sources (update this test's extraction)"
        return
    fi
    missing=
    for v in "$@"; do
        grep -qF -e "\`$v\`" "$tmp/metrics.md" || missing="$missing $v"
    done
    if [ -z "$missing" ]; then
        ok "label values of $what are documented ($*)"
    else
        notok "label values of $what missing under '## Metrics' in $REF:$missing"
    fi
}

# shellcheck disable=SC2046 # one word per value
label_set "webhook (webhook/metrics.c webhook_paths)" $(c_strings webhook/metrics.c webhook_paths)
# shellcheck disable=SC2046
label_set "code (webhook/metrics.c codes)" $(c_array webhook/metrics.c codes | grep -oE '[0-9]+')
# shellcheck disable=SC2046
label_set "operation (webhook/metrics.c operations)" $(c_strings webhook/metrics.c operations)
# shellcheck disable=SC2046
label_set "le (webhook/metrics.c bucket_text)" $(c_strings webhook/metrics.c bucket_text)
# shellcheck disable=SC2046
label_set "kind (the kinds of webhook/schema_gen.c, and other)" \
    $(sed -n 's/^    {"[^"]*", "\([A-Za-z]*\)", SCH_.*/\1/p' webhook/schema_gen.c | sort -u) other
# label="value" literals in the exposition formats, e.g. result=\"success\"
# shellcheck disable=SC2046
label_set "literal label values (webhook/*.c)" \
    $(cat webhook/*.c | grep -oE '[a-z_]+=\\"[a-z]+\\"' | sed 's/.*=\\"\(.*\)\\"/\1/' | sort -u)
if [ -f webhook/crosscheck.c ]; then
    # shellcheck disable=SC2046
    label_set "check (webhook/xcheck.c check_names)" $(c_strings webhook/xcheck.c check_names)
    # shellcheck disable=SC2046
    label_set "result (webhook/crosscheck.c results)" $(c_strings webhook/crosscheck.c results)
    # shellcheck disable=SC2046
    label_set "kind of the watch cache (include/wcache.h)" \
        $(sed -n 's/^ *X([A-Z]*, "[^"]*", "\([A-Za-z]*\)").*/\1/p' include/wcache.h)
fi

# ---- environment variables -------------------------------------------------

section "## Environment variables" >"$tmp/env.md"
cat lib/*.c webhook/*.c conformance/*.c | grep -o 'getenv("[A-Za-z_0-9]*")' |
    sed 's/getenv("\(.*\)")/\1/' | sort -u >"$tmp/env"
if [ ! -s "$tmp/env" ]; then
    notok "getenv() calls found in lib/, webhook/, conformance/ (update this test)"
fi
while IFS= read -r var; do
    if grep -qF -e "\`$var\`" "$tmp/env.md"; then
        ok "environment variable $var is documented"
    else
        notok "environment variable $var (getenv in the sources) is missing from '## Environment variables' in $REF"
    fi
done <"$tmp/env"

echo "1..$n"
[ "$failures" -eq 0 ]
