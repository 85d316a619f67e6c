#!/usr/bin/env bash
# Installs the native peers of the comparison harness (LMDB, SQLite, RocksDB) from Debian packages when missing.
# Needs root (or sudo) only if something is missing.
set -euo pipefail

missing=()
have_lib() { ldconfig -p 2>/dev/null | grep -q "$1"; }
have_lib 'liblmdb\.so\.0' || missing+=(liblmdb0)
have_lib 'libsqlite3\.so\.0' || missing+=(libsqlite3-0)
have_lib 'librocksdb\.so' || missing+=(librocksdb-dev)
# lmdb-utils (mdb_stat, mdb_dump) is handy for inspecting LMDB files; not needed by the harness.
dpkg -s lmdb-utils >/dev/null 2>&1 || missing+=(lmdb-utils)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "Installing native peers: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "Not root and no sudo: install these packages yourself: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}"
