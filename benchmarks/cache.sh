#!/usr/bin/env bash
# The cache suite (docs/benchmarks.md, "Cache"): MmapKvCache against NeoSmart.Caching.Sqlite, Redis (a redis-server
# the harness starts on 127.0.0.1 at a free port, persistence off) and MemoryDistributedCache, in one run.
#   benchmarks/cache.sh            full run (3 repetitions, 1M-entry sweep) -> the "Cache" section of docs/benchmarks.md
#   benchmarks/cache.sh --quick    smoke run: small counts, every result checked, nothing written (about 30 s)
# Installs redis-server with apt-get if missing (needs root or sudo then).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

if ! command -v redis-server >/dev/null && [ ! -x /usr/bin/redis-server ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else echo "Not root and no sudo: apt-get install redis-server yourself" >&2; exit 1; fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq redis-server
fi
dotnet build benchmarks/MmapKv.CacheBenchmarks -c Release --nologo -v quiet -clp:ErrorsOnly
exec timeout 3600 dotnet benchmarks/MmapKv.CacheBenchmarks/bin/Release/net10.0/MmapKv.CacheBenchmarks.dll "$@"
