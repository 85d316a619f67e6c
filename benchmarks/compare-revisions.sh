#!/usr/bin/env bash
# Runs the comparison harness on two revisions of MmapKv in one run, alternating them, so a change (a refactor
# that must not cost speed, say) is measured against what it replaced on the same machine at the same time.
#
#   benchmarks/compare-revisions.sh BEFORE AFTER [ROUNDS] [harness options...]
#   benchmarks/compare-revisions.sh fb3abb3 HEAD 3 --quick --engines mmapkv,lmdb --workloads load,reads
#
# Each round runs BEFORE, then AFTER (each against the same peers), and prints both harness tables; read the
# ratios to the peer (peer time / MmapKv time) side by side. Builds go to temporary worktrees, removed at the end.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
usage="usage: benchmarks/compare-revisions.sh BEFORE AFTER [ROUNDS] [harness options...]"
before=${1:?$usage}
after=${2:?$usage}
shift 2
rounds=3
if [[ ${1:-} =~ ^[0-9]+$ ]]; then rounds=$1; shift; fi
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
bash benchmarks/install-peers.sh

work=$(mktemp -d "${TMPDIR:-/tmp}/mmapkv-compare.XXXXXX")
cleanup() {
    for name in before after; do git worktree remove --force "$work/$name" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
for name in before after; do
    rev=$before
    [ "$name" = after ] && rev=$after
    git worktree add --detach -q "$work/$name" "$rev"
    echo "== building $name ($rev: $(git log -1 --format='%h %s' "$rev" | cut -c1-80))"
    dotnet build "$work/$name/benchmarks/MmapKv.Benchmarks" -c Release --nologo -v quiet -clp:ErrorsOnly
done
for ((r = 1; r <= rounds; r++)); do
    for name in before after; do
        echo "== round $r: $name"
        (cd "$work/$name" && dotnet benchmarks/MmapKv.Benchmarks/bin/Release/net10.0/MmapKv.Benchmarks.dll --out none "$@")
    done
done
