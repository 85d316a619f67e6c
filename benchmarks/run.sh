#!/usr/bin/env bash
# Runs the comparison harness: MmapKv against LMDB, SQLite and RocksDB (see docs/benchmarks.md).
# Installs the native peers if missing, builds in Release, and passes every argument through, e.g.
#   benchmarks/run.sh            full run (N = 1,000,000, 3 repetitions) -> docs/benchmarks.md + chart
#   benchmarks/run.sh --quick    N = 100,000, 1 repetition -> benchmarks/results/quick.md
#   benchmarks/run.sh --help     every option
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

bash benchmarks/install-peers.sh
dotnet build benchmarks/MmapKv.Benchmarks -c Release --nologo -v quiet -clp:ErrorsOnly
exec dotnet benchmarks/MmapKv.Benchmarks/bin/Release/net10.0/MmapKv.Benchmarks.dll "$@"
