#!/usr/bin/env bash
# Runs an entry point (worker, ingest, start, cli) as `npm run <name>` and bin/bucketflow do: the compiled JS
# in dist/ when `npm run build` made it from the sources as they are now, else the TypeScript through tsx
# (development). A dist built from other sources never runs: it is skipped with a note on stderr.
# BUCKETFLOW_RUNTIME=tsx forces the TypeScript; =dist requires a current build (exit 2 otherwise).
# `entry.sh --source-hash` prints the hash a build records in dist/.source-hash.
set -euo pipefail
repo="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"

# Everything the compiled output depends on; package-lock.json also covers the SDK the bundle is built with.
source_hash() (
  cd "$repo"
  {
    find src workflows activities -type f -name '*.ts' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    sha256sum package-lock.json tsconfig.json tsconfig.build.json
  } | sha256sum | cut -c1-64
)

if [ "${1:-}" = "--source-hash" ]; then
  source_hash
  exit 0
fi

entry=${1:-}
case "$entry" in
  worker | ingest | start | cli) shift ;;
  *) echo "usage: entry.sh worker|ingest|start|cli [args...]" >&2; exit 2 ;;
esac

# Where each entry point lives: one folder per process, each holding only its main.
module=$entry/main
built="$repo/dist/src/$module.js"
runtime=${BUCKETFLOW_RUNTIME:-auto}
current=no
if [ -f "$built" ] && [ -f "$repo/dist/.source-hash" ]; then
  # An installed package ships dist/ without the sources: what it ships is current by definition.
  if [ ! -d "$repo/src" ] || [ "$(source_hash)" = "$(cat "$repo/dist/.source-hash")" ]; then current=yes; fi
fi

case "$runtime" in
  dist)
    if [ "$current" != yes ]; then
      echo "bucketflow: BUCKETFLOW_RUNTIME=dist but dist/ is missing or older than the sources: run npm run build" >&2
      exit 2
    fi ;;
  tsx) current=no ;;
  auto)
    if [ "$current" != yes ] && [ -f "$built" ]; then
      echo "bucketflow: dist/ is older than the sources, running them through tsx (npm run build to refresh)" >&2
    fi ;;
  *) echo "bucketflow: BUCKETFLOW_RUNTIME: expected auto, dist or tsx, got \"$runtime\"" >&2; exit 2 ;;
esac

# The long-running processes' V8 heaps (docs/production.md, "Memory"): an old space capped at 512 MB makes V8 collect sooner
# (uncapped, its limit is a quarter of the machine's memory up to 4 GB, and with a limit that high it lets
# garbage pile up to ~2.5x the live heap before collecting), and 8 MB semi-spaces halve the young generation;
# both isolates (the main thread, the SDK's workflow thread) get both. With them a burst of 2,000 events peaks
# under 300 MB RSS instead of 370-470 MB (bench/admission.ts). A flag NODE_OPTIONS names wins: ours is left out.
# And glibc's malloc arenas (MALLOC_ARENA_MAX, unless set): by default up to 8 per core, one per thread that
# allocates (libuv's pool, the SDK's Rust threads), each keeping what was freed in it; two made the worker's peak
# RSS 25-35 MB lower in a backfill, as fast within the noise, in the same run (npm run bench, BENCH_ONLY=backfill,
# modes default and arenas-16, glibc's own limit on 2 cores).
heap=()
case "$entry" in
  worker | start | ingest)
    export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}
    given=" ${NODE_OPTIONS:-} "
    given=${given//_/-} # V8 takes --max_old_space_size as well
    for flag in --max-old-space-size=512 --max-semi-space-size=8; do
      case "$given" in
        *" ${flag%%=*}="* | *" ${flag%%=*} "*) ;;
        *) heap+=("$flag") ;;
      esac
    done ;;
esac

if [ "$current" = yes ]; then
  exec node ${heap[@]+"${heap[@]}"} "$built" "$@"
fi
exec node ${heap[@]+"${heap[@]}"} --import "$repo/node_modules/tsx/dist/loader.mjs" "$repo/src/$module.ts" "$@"
