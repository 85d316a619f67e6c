#!/usr/bin/env bash
# Device flushes per durable commit: runs the harness's --flushcount mode (N one-put durable commits on a fresh
# database, then close) under `strace -f -c -e trace=msync,fsync,fdatasync,sync_file_range`, with one committer and
# with four concurrent ones, and once more with zero commits to subtract what opening and closing flush. Prints, per
# engine and thread count, the device flush calls (msync, fsync, fdatasync) per commit and commits per flush (4 threads:
# the group-commit figure); sync_file_range, which only starts writeback, is counted apart.
#   benchmarks/flush-count.sh                      # N = 1,000, engines mmapkv,lmdb,sqlite
#   benchmarks/flush-count.sh 400 mmapkv,zonetree,litedb,lightningdb,rocksdb
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
n="${1:-1000}"
engines="${2:-mmapkv,lmdb,sqlite}"

if ! command -v strace >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -qq strace >/dev/null 2>&1 || { $sudo apt-get update -qq && $sudo apt-get install -y -qq strace; }
fi
bash benchmarks/install-peers.sh
dotnet build benchmarks/MmapKv.Benchmarks -c Release --nologo -v quiet -clp:ErrorsOnly
dll=benchmarks/MmapKv.Benchmarks/bin/Release/net10.0/MmapKv.Benchmarks.dll
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Runs one traced pass; prints "total msync fsync fdatasync sync_file_range ms".
trace() { # engine threads commits
  strace -f -c -o "$tmp/st" -e trace=msync,fsync,fdatasync,sync_file_range \
    dotnet "$dll" --flushcount --engines "$1" --threads "$2" --commits "$3" --dir "$tmp/data" > "$tmp/out"
  local ms; ms="$(sed -n 's/.* ms=\([0-9.]*\).*/\1/p' "$tmp/out")"
  awk -v ms="$ms" '
    $NF ~ /^(msync|fsync|fdatasync|sync_file_range)$/ { c[$NF] = ($4 ~ /^[0-9]+$/ ? $4 : $(NF-1)) }
    END { t = c["msync"] + c["fsync"] + c["fdatasync"];  # sync_file_range(WRITE) starts writeback, flushes nothing
          printf "%d %d %d %d %d %s\n", t, c["msync"], c["fsync"], c["fdatasync"], c["sync_file_range"], ms }' "$tmp/st"
}

echo "Device flushes (msync + fsync + fdatasync calls) per durable one-put commit, N = $n commits, open/close subtracted;"
echo "sync_file_range (sfr), which only starts writeback and flushes no device cache, is shown apart"
echo
printf '| %-12s | %-7s | %-14s | %-16s | %-38s | %-9s |\n' engine threads "flushes/commit" "commits/flush" "per commit: msync, fsync, fdatasync, sfr" "commits/s"
printf '|%s|%s|%s|%s|%s|%s|\n' "--------------" "---------" "---------------:" "-----------------:" "----------------------------------------" "----------:"
IFS=',' read -ra list <<< "$engines"
for e in "${list[@]}"; do
  for t in 1 4; do
    read -r b0 bm bf bd bs _ <<< "$(trace "$e" "$t" 0)"
    read -r a0 am af ad as ms <<< "$(trace "$e" "$t" "$n")"
    awk -v e="$e" -v t="$t" -v n="$n" -v d="$((a0 - b0))" -v m="$((am - bm))" -v f="$((af - bf))" -v s="$((ad - bd))" -v r="$((as - bs))" -v ms="$ms" 'BEGIN {
      cpf = d > 0 ? sprintf("%.2f", n / d) : "no flush";
      printf "| %-12s | %7d | %14.3f | %16s | %9.3f, %6.3f, %6.3f, %6.3f      | %9.0f |\n", e, t, d / n, cpf, m / n, f / n, s / n, r / n, n / (ms / 1000) }'
  done
done
echo
echo "4 threads is the group-commit shape (4 threads x 250 one-insert durable commits at N = 1,000): commits/flush above 1"
echo "means commits shared a flush. Counts are system calls, not device cache flushes (one fsync may issue several)."
