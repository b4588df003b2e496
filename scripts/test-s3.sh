#!/usr/bin/env bash
# `npm run test:s3`: bucketflow's S3 access, backfill and scans on the stack's real S3 servers (not part of `npm test`,
# as the first run builds MinIO and versitygw from their Go modules, minutes; later runs reuse the build caches; CI
# runs it after `npm test`).
# Brings up the group s3 (minio, seaweedfs, versitygw, s3proxy), then runs test/s3, each file within TEST_TIMEOUT_MS
# (5 min: a hung server fails a file, not CI), then test/s3/large, the runs at the issue's sizes (100,000 objects:
# about 8 minutes on this machine, the bucket's upload included), each within TEST_LARGE_TIMEOUT_MS (30 min).
# A subset: `npm run test:s3 -- test/s3/x.test.ts` (a file under test/s3/large/ gets the large timeout).
set -euo pipefail
cd "$(dirname "$0")/.."

npm run --silent stack -- up s3
run() {
  local timeout=$1
  shift
  node --import tsx --test --test-concurrency=1 --test-timeout="$timeout" "$@"
}
if [ "$#" -gt 0 ]; then
  files=("$@")
  large=()
else
  mapfile -t files < <(find test/s3 -maxdepth 1 -name '*.test.ts' | LC_ALL=C sort)
  mapfile -t large < <(find test/s3/large -name '*.test.ts' | LC_ALL=C sort)
fi
rc=0 # the large files run even when another failed, so one run shows every failure
regular=()
for file in "${files[@]}"; do
  case "$file" in
    test/s3/large/* | ./test/s3/large/*) large+=("$file") ;;
    *) regular+=("$file") ;;
  esac
done
if [ "${#regular[@]}" -gt 0 ]; then run "${TEST_TIMEOUT_MS:-300000}" "${regular[@]}" || rc=1; fi
if [ "${#large[@]}" -gt 0 ]; then run "${TEST_LARGE_TIMEOUT_MS:-1800000}" "${large[@]}" || rc=1; fi
exit "$rc"
