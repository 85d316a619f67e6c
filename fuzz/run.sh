#!/usr/bin/env bash
# Builds the MmapKv fuzzer (Release) and runs one mode, or all four with the time split between them.
#
#   fuzz/run.sh MODE SECONDS [fuzzer options...]      MODE: file | ops | crash | kill | all
#
# Environment: FUZZ_SEED (default: the current time), FUZZ_JOBS (default 2), FUZZ_CORPUS (default fuzz/corpus),
# FUZZ_ARTIFACTS (default fuzz/artifacts), FUZZ_BUILD (default fuzz/.build).
# Exit status: 0 when no crash, hang, unexpected exception or invariant violation was seen, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: fuzz/run.sh file|ops|crash|kill|all SECONDS [fuzzer options]"
mode=${1:?$usage}
seconds=${2:?$usage}
shift 2
case "$mode" in file|ops|crash|kill|all) ;; *) echo "$usage" >&2; exit 2 ;; esac
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
ulimit -c 0 2>/dev/null || true

build=${FUZZ_BUILD:-fuzz/.build}
# A private artifacts path keeps this build out of the obj/ directories other builds of the solution use.
dotnet build fuzz/MmapKv.Fuzz/MmapKv.Fuzz.csproj -c Release --artifacts-path "$build" -nologo -v q -clp:ErrorsOnly
# Run from a copy, so a rebuild during a long run does not replace the binaries under it.
bin=$(mktemp -d "${TMPDIR:-/tmp}/mmapkv-fuzz-bin.XXXXXX")
trap 'rm -rf "$bin"' EXIT
cp -r "$build/bin/MmapKv.Fuzz/release/." "$bin/"

seed=${FUZZ_SEED:-$(date +%s)}
jobs=${FUZZ_JOBS:-2}
corpus=${FUZZ_CORPUS:-fuzz/corpus}
artifacts=${FUZZ_ARTIFACTS:-fuzz/artifacts}

run_mode() {
    local m=$1 s=$2
    shift 2
    echo "=== fuzz $m: ${s} s, seed $seed, jobs $jobs, artifacts $artifacts"
    dotnet "$bin/MmapKv.Fuzz.dll" --mode "$m" --seed "$seed" --time "$s" --jobs "$jobs" \
        --corpus "$corpus" --artifacts "$artifacts" "$@"
}

if [ "$mode" != all ]; then
    run_mode "$mode" "$seconds" "$@"
    exit $?
fi

# all: 40% file, 25% ops, 20% crash, 15% kill.
status=0
summary=""
for part in file:40 ops:25 crash:20 kill:15; do
    m=${part%%:*}
    share=${part##*:}
    s=$(( seconds * share / 100 ))
    [ "$s" -lt 5 ] && s=5
    if run_mode "$m" "$s" "$@"; then summary+="$m PASS; "; else status=1; summary+="$m FAIL; "; fi
done
echo "=== fuzz all (seed $seed): $summary"
exit $status
