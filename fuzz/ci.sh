#!/usr/bin/env bash
# Short fuzzing pass for CI, about 75 seconds of fuzzing across the four modes (plus the build).
# Exits non-zero on any crash, hang, unexpected exception or invariant violation; failing inputs and their
# replay commands are saved under fuzz/artifacts (or FUZZ_ARTIFACTS).
#
# The seed is fixed so a failure reproduces; set FUZZ_SEED to vary it (e.g. FUZZ_SEED=$(date +%s)).
set -uo pipefail
cd "$(dirname "$0")/.."
export FUZZ_SEED=${FUZZ_SEED:-20261122}
export FUZZ_JOBS=${FUZZ_JOBS:-2}
export FUZZ_ARTIFACTS=${FUZZ_ARTIFACTS:-fuzz/artifacts}
status=0
summary=""
for part in file:30 ops:15 crash:15 kill:15; do
    m=${part%%:*}
    s=${part##*:}
    extra=()
    # A hung file case costs its time limit plus a confirming re-run (3x): keep both short here.
    [ "$m" = file ] && extra=(--timeout 5)
    if fuzz/run.sh "$m" "$s" --status 15 ${extra[@]+"${extra[@]}"}; then summary+="$m PASS; "; else status=1; summary+="$m FAIL; "; fi
done
echo "Fuzz (seed $FUZZ_SEED): $summary"
if [ "$status" -ne 0 ]; then echo "Fuzz: failures found; see $FUZZ_ARTIFACTS" >&2; fi
exit $status
