#!/usr/bin/env bash
# `npm test`: the whole suite, as CI runs it: bring the real stack up and type-check (both in the background) while
# eslint and the build run (so bin/bucketflow and the package test run what production runs), then every
# test file but the opt-in suites' (test/cluster: `npm run test:cluster`; test/s3: `npm run test:s3`; test/faults:
# `npm run test:faults`, which CI runs after this), TEST_CONCURRENCY (4) files at a time; a file that declares
# needs('alone') after the others, one at a time.
# `npm test -- <files>` (or TEST_FILES="a b" npm test): those files only, directly, in seconds: no stack up, no tsc,
# no eslint, no build (unless a named file declares needs('build') and dist/ is stale). A file whose servers are
# down skips its tests naming them and the command that starts them (test/helpers/needs.ts).
# `npm test -- --faults` (what `npm run test:faults` runs): the stack up, then test/faults.
set -euo pipefail
cd "$(dirname "$0")/.."

step() {
  local name=$1 began=$SECONDS rc=0
  shift
  echo "=== test: $name"
  "$@" || rc=$?
  echo "=== test: $name took $((SECONDS - began)) s$([ "$rc" = 0 ] || echo ", exit $rc")"
  return "$rc"
}

# Runs files with node's test runner, $1 at a time: TAP on stdout (spec on a terminal), the slowest files and tests on
# stderr. A test that hangs (e.g. a server vanished mid-run) fails after TEST_TIMEOUT_MS instead of stalling CI.
run_tests() {
  local at_a_time=$1 reporter=tap
  shift
  [ -t 1 ] && reporter=spec
  node --import tsx --test --test-concurrency="$at_a_time" --test-timeout="${TEST_TIMEOUT_MS:-300000}" \
    --test-reporter="$reporter" --test-reporter-destination=stdout \
    --test-reporter=./scripts/test-timings.mjs --test-reporter-destination=stderr "$@"
}

# Runs the files `concurrency` at a time, but those that declare needs('alone') (their assertions hold only on a
# machine not also running other test files) after the others, one at a time. Both run even when the first fails.
run_suite() {
  local together=() alone=() file rc=0
  for file in "$@"; do
    # The declaration (`= needs(...)`); -z: the file is one line, so a call the formatter wrapped is found too.
    if grep -qzE "= needs(Each)?\([^)]*'alone'" "$file"; then alone+=("$file"); else together+=("$file"); fi
  done
  if [ "${#together[@]}" -gt 0 ]; then
    step "node --test (${#together[@]} files, $concurrency at a time)" run_tests "$concurrency" "${together[@]}" || rc=1
  fi
  if [ "${#alone[@]}" -gt 0 ]; then
    step "node --test (${#alone[@]} files that run alone)" run_tests 1 "${alone[@]}" || rc=1
  fi
  return "$rc"
}

# A step in the background (`stack up` waits on servers, `tsc --noEmit` takes one core while eslint and the build take
# the other): its output waits in a file, printed whole by `joined` with how long the step took.
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
declare -A pids began_at
background() {
  local name=$1
  shift
  began_at[$name]=$SECONDS
  ( rc=0; "$@" > "$logs/$name" 2>&1 || rc=$?; echo "$SECONDS" > "$logs/$name.end"; exit "$rc" ) &
  pids[$name]=$!
}
joined() {
  local name=$1 rc=0
  wait "${pids[$name]}" || rc=$?
  echo "=== test: $name (in the background)"
  cat "$logs/$name"
  echo "=== test: $name took $(($(cat "$logs/$name.end") - began_at[$name])) s$([ "$rc" = 0 ] || echo ", exit $rc")"
  return "$rc"
}

mode=all
concurrency=${TEST_CONCURRENCY:-4}
if [ "${1:-}" = "--faults" ]; then
  mode=faults
elif [ "$#" -gt 0 ]; then
  mode=named
  files=("$@")
elif [ -n "${TEST_FILES:-}" ]; then
  mode=named
  read -r -a files <<< "$TEST_FILES"
fi

if [ "$mode" = named ] && [ "${#files[@]}" -eq 0 ]; then
  echo "test.sh: no test files named" >&2
  exit 1
fi

case "$mode" in
  named)
    # Only what a named file declares it needs: the build for a test of the package.
    if grep -lzE "= needs(Each)?\([^)]*'build'" "${files[@]}" > /dev/null \
      && [ "$(bash scripts/entry.sh --source-hash)" != "$(cat dist/.source-hash 2>/dev/null)" ]; then
      step "build (a named file needs it)" npm run --silent build
    fi
    run_suite "${files[@]}" ;;
  faults)
    concurrency=${TEST_CONCURRENCY:-1} # their timings are the point: no other file's load beside them
    mapfile -t files < <(find test/faults -name '*.test.ts' | LC_ALL=C sort)
    step "stack up" npm run --silent stack -- up
    step "node --test test/faults (${#files[@]} files, $concurrency at a time)" run_tests "$concurrency" "${files[@]}" ;;
  all)
    # The opt-in suites: test/cluster (`npm run test:cluster`, on the self-hosted cluster), test/s3 (`npm run test:s3`,
    # on the opt-in S3 servers), test/faults (`npm run test:faults`).
    mapfile -t files < <(find test -name '*.test.ts' -not -path 'test/cluster/*' -not -path 'test/s3/*' -not -path 'test/faults/*' | LC_ALL=C sort)
    background "stack up" npm run --silent stack -- up
    background "tsc --noEmit" npx tsc --noEmit
    # The workflow bundle the tests' workers load (src/engine/workflow-bundle.ts), made once now instead of by the
    # first test files at once.
    background "workflow bundle" node --import tsx -e "require('./src/engine/workflow-bundle').loadWorkflowBundle()"
    failed=0 # each step's errors are printed before the run stops
    step "lint (eslint, prettier --check)" npm run --silent lint || failed=1
    step "build" npm run --silent build || failed=1
    joined "tsc --noEmit" || failed=1
    joined "workflow bundle" || failed=1
    joined "stack up" || failed=1
    [ "$failed" = 0 ] || exit 1
    run_suite "${files[@]}" ;;
esac
