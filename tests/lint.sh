#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Cheap checks on the tree and the build (curl's checksrc, the style guide):
#   exports  the shared library exports nothing outside ms_
#   banned   no sprintf/strcpy/strcat/gets/atoi in shipped code
#   spdx     every shipped source file opens with an SPDX line
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
pass=0 fail=0
check() { # name, command...
    local name=$1; shift
    if out=$("$@" 2>&1); then pass=$((pass + 1)); echo "ok   $name"
    else fail=$((fail + 1)); echo "FAIL $name"; echo "$out" | head -20; fi
}
exports() {
    local so
    so=$(ls "$BUILD"/libmlsession.so* 2>/dev/null | head -1)
    [ -n "$so" ] || { echo "no shared library in $BUILD"; return 1; }
    local bad
    bad=$(nm -D --defined-only "$so" | awk '$2 ~ /[TDBR]/ {print $3}' | grep -v '^ms_' | grep -v '^_' || true)
    [ -z "$bad" ] || { echo "exported outside ms_:"; echo "$bad"; return 1; }
}
banned() {
    ! grep -nE '\b(sprintf|strcpy|strcat|gets|atoi)\s*\(' src/*/*.c src/*/*.cpp cli/*.c 2>/dev/null |
        grep -v snprintf
}
spdx() {
    local f bad=0
    for f in src/*/*.[ch] src/*/*.cpp cli/*.[ch] include/mlsession/*.h; do
        head -2 "$f" | grep -q 'SPDX-License-Identifier' || { echo "$f: no SPDX line"; bad=1; }
    done
    return $bad
}
# the man page renders without warnings, and it and the bash completion
# know every command of cli/main.c
manpage() {
    if command -v groff >/dev/null; then
        local w
        w=$(groff -man -ww -z docs/mlsession.1 2>&1) || return 1
        [ -z "$w" ] || { echo "$w"; return 1; }
    fi
    local c bad=0
    for c in $(sed -n 's/^    {"\([a-z]*\)", .*/\1/p' cli/main.c); do
        grep -q "^\.B $c\b\|^\.B traces.*$c\|\\fB$c\b" docs/mlsession.1 ||
            { echo "docs/mlsession.1: no command $c"; bad=1; }
        grep -q "\b$c\b" contrib/mlsession.bash || { echo "contrib/mlsession.bash: no command $c"; bad=1; }
    done
    bash -n contrib/mlsession.bash || bad=1
    return $bad
}
check exports exports
check banned-calls banned
check spdx spdx
check manpage manpage
echo "lint: $pass passed, $fail failed"
echo "$pass $fail 0" >> "${MS_TALLY:-/dev/null}"
[ "$fail" -eq 0 ]
