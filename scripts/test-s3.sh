#!/usr/bin/env bash
# `npm run test:s3`: bucketflow's S3 access, backfill and scans on the stack's real S3 servers (not part of `npm test`,
# as the first run builds MinIO and versitygw from their Go modules, minutes; later runs reuse the build caches; CI
# runs it after `npm test`).
# Brings up the group s3 (minio, seaweedfs, versitygw, s3proxy), then runs test/s3. A subset: `npm run test:s3 -- test/s3/x.test.ts`.
set -euo pipefail
cd "$(dirname "$0")/.."

npm run --silent stack -- up s3
if [ "$#" -gt 0 ]; then files=("$@"); else mapfile -t files < <(find test/s3 -name '*.test.ts' | LC_ALL=C sort); fi
node --import tsx --test --test-concurrency=1 --test-timeout="${TEST_TIMEOUT_MS:-300000}" "${files[@]}"
