#!/usr/bin/env bash
# `npm test`: bring the real stack up, type-check, then run the test files one at a time.
# A subset: `TEST_FILES="test/a.test.ts test/b.test.ts" npm test` or `npm test -- test/a.test.ts`.
set -euo pipefail
cd "$(dirname "$0")/.."

npm run --silent stack -- up
npx tsc --noEmit

if [ "$#" -gt 0 ]; then
  files=("$@")
elif [ -n "${TEST_FILES:-}" ]; then
  read -r -a files <<< "$TEST_FILES"
else
  mapfile -t files < <(find test -name '*.test.ts' -not -path '*/node_modules/*' | LC_ALL=C sort)
fi
if [ "${#files[@]}" -eq 0 ]; then
  echo "test.sh: no test files found" >&2
  exit 1
fi
exec node --import tsx --test --test-concurrency=1 "${files[@]}"
