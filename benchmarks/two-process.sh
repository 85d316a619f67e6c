#!/usr/bin/env bash
# Two processes on one database (docs/benchmarks.md, "Two processes"): the harness loads N keys, then commits one
# new key per durable transaction while a second process (the harness's own executable, started by it) runs read
# transactions of one random lookup each, for a fixed time; then the roles swap. The engines take turns in 1-second
# windows, so drift in the disk's flush latency hits all alike. Reads/s and commits/s for MmapKv, LMDB and
# LightningDB, and the ratios MmapKv / peer, from one run; every lookup and commit is checked.
#   benchmarks/two-process.sh                      N = 1M, 10 s per direction, 3 repetitions (about 5 minutes)
#   benchmarks/two-process.sh --write              the same, and the section goes into docs/benchmarks.md
#   benchmarks/two-process.sh --seconds 1 --n 2K --reps 1      what benchmarks/smoke.sh runs (about 10 s)
# Other options pass through to the harness (--engines, --dir, --keep-data; see --help). Exit codes: 2 a wrong
# result, 4 the second process failed or hung (the message gives its command line and keeps the database).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

args=()
out=(--out none)
for a in "$@"; do
  if [ "$a" = "--write" ]; then out=(--out docs/benchmarks.md); else args+=("$a"); fi
done
bash benchmarks/install-peers.sh
dotnet build benchmarks/MmapKv.Benchmarks -c Release --nologo -v quiet -clp:ErrorsOnly
exec timeout 7200 dotnet benchmarks/MmapKv.Benchmarks/bin/Release/net10.0/MmapKv.Benchmarks.dll --two-process "${out[@]}" "${args[@]}"
