#!/usr/bin/env bash
# lint.sh - keep plain assert() and abort() out of the roles and the OTP
# layer (STYLE rule 25): there they would kill the node, where rt_assert()
# or cl_panic() crashes only the actor and an error code fails only the
# request. runtime/ may abort on a broken kernel invariant, and
# cleo_xmalloc() (runtime/xmalloc.c) on out-of-memory.
# Exits 1 naming each file:line found, 0 when there is none.
set -euo pipefail
cd "$(dirname "$0")/.."
dirs=(gateway storage manager actors supervisors)
# A call of assert or abort as a whole word: rt_assert, _Static_assert,
# static_assert and sto_put_abort are other identifiers.
pat='(^|[^A-Za-z0-9_])(assert|abort)[[:space:]]*\('
rc=0
hits=$(grep -nE "$pat" -r --include='*.c' --include='*.h' "${dirs[@]}") || rc=$?
if [ "$rc" -gt 1 ]; then
    echo "lint: grep failed ($rc)" >&2
    exit 2
fi
if [ -n "$hits" ]; then
    while IFS= read -r h; do
        echo "${h%%:*}:$(echo "$h" | cut -d: -f2): plain assert()/abort()" \
             "kills the node: use rt_assert()/cl_panic() for a caller bug," \
             "an error code for bad input (STYLE rule 25)" >&2
    done <<<"$hits"
    exit 1
fi
echo "lint: no assert()/abort() in ${dirs[*]}"
