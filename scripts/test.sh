#!/usr/bin/env bash
# `npm test`: bring the real stack up, type-check, lint, build (so bin/bucketflow and the package test run
# what production runs), then run the test files one at a time.
# A subset: `npm test -- test/a.test.ts test/b.test.ts` or `TEST_FILES="test/a.test.ts" npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."

step() {
  local name=$1 began=$SECONDS
  shift
  echo "=== test: $name"
  "$@"
  echo "=== test: $name took $((SECONDS - began)) s"
}

if [ "$#" -gt 0 ]; then
  files=("$@")
elif [ -n "${TEST_FILES:-}" ]; then
  read -r -a files <<< "$TEST_FILES"
else
  # test/cluster runs only under `npm run test:cluster`, against the opt-in self-hosted cluster; test/s3 only
  # under `npm run test:s3`, against the opt-in S3 servers.
  mapfile -t files < <(find test -name '*.test.ts' -not -path '*/node_modules/*' -not -path 'test/cluster/*' -not -path 'test/s3/*' | LC_ALL=C sort)
fi
if [ "${#files[@]}" -eq 0 ]; then
  echo "test.sh: no test files found" >&2
  exit 1
fi

step "stack up" npm run --silent stack -- up
step "tsc --noEmit" npx tsc --noEmit
step "eslint" npx eslint .
step "build" npm run --silent build
# A test that hangs (e.g. a server vanished mid-run) fails after TEST_TIMEOUT_MS instead of stalling CI.
step "node --test (${#files[@]} files)" node --import tsx --test --test-concurrency=1 \
  --test-timeout="${TEST_TIMEOUT_MS:-300000}" "${files[@]}"
