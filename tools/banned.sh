#!/bin/sh
# Functions we do not call (cf. curl's checksrc BANNEDFUNC): unbounded
# copies, non-reentrant tokenisers, unchecked number parsing, the shell.
cd "$(dirname "$0")/.." || exit 2
if git grep -nE '\b(sprintf|vsprintf|strcpy|strcat|strncpy|strncat|strtok|gets|atoi|atol|system)[[:space:]]*\(' \
    -- 'lib/*.c' 'webhook/*.c' 'conformance/*.c' 'include/*.h' 'tests/fixtures/*.c'; then
    echo "banned function used (see tools/banned.sh)" >&2
    exit 1
fi
exit 0
