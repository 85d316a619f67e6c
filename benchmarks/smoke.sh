#!/usr/bin/env bash
# CI check of the comparison harness: installs the native peers, builds, and runs every workload on every
# engine (MmapKv, LMDB, LMDB WRITEMAP, SQLite, RocksDB, ZoneTree, LiteDB, LightningDB) with a tiny N, verifying
# each result exactly (every key, range and scan entry). Exits non-zero if any engine returns a wrong result or a
# peer library is missing. Takes about a minute, most of it durable commits. Then the two-process workload, small.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

bash benchmarks/install-peers.sh
dotnet build benchmarks/MmapKv.Benchmarks -c Release --nologo -v quiet -clp:ErrorsOnly
dotnet build benchmarks/MmapKv.HotPaths -c Release --nologo -v quiet -clp:ErrorsOnly
dotnet benchmarks/MmapKv.Benchmarks/bin/Release/net10.0/MmapKv.Benchmarks.dll --smoke "$@"
# Two processes on one database (benchmarks/two-process.sh): MmapKv, LMDB and LightningDB, 1 s per direction, every
# lookup and commit checked across the processes (about 10 s).
dotnet benchmarks/MmapKv.Benchmarks/bin/Release/net10.0/MmapKv.Benchmarks.dll --two-process --seconds 1 --n 2K --reps 1 --out none
# The cache suite's quick mode (benchmarks/cache.sh): every cache engine and workload on small counts, results checked.
bash benchmarks/cache.sh --quick
