#!/usr/bin/env bash
# BenchmarkDotNet suite for MmapKv's hot paths (get, seek, cursor next, put, commit) with the memory diagnoser.
# Arguments pass through to BenchmarkDotNet; with none, every benchmark runs with the short job:
#   benchmarks/hotpaths.sh                               quick (--job short), a few minutes
#   benchmarks/hotpaths.sh --filter '*ReadPaths*'        default (long) job, read paths only
# Results: benchmarks/BenchmarkDotNet.Artifacts/results.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
dotnet build benchmarks/MmapKv.HotPaths -c Release --nologo -v quiet -clp:ErrorsOnly
if [ $# -eq 0 ]; then set -- --filter '*' --job short; fi
exec dotnet benchmarks/MmapKv.HotPaths/bin/Release/net10.0/MmapKv.HotPaths.dll "$@"
