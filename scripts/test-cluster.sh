#!/usr/bin/env bash
# `npm run test:cluster`: bucketflow on the stack's self-hosted Temporal cluster (opt-in: not part of `npm test`
# nor CI; the first run builds the server from its Go module, minutes). Two phases, each on a cluster started
# for it: Elasticsearch visibility (the suites that hold on any Temporal server, the faults inside the cluster,
# search-attribute registration), then PostgreSQL visibility (search attributes, `deliveries` queries, limits).
# A subset: `npm run test:cluster -- test/cluster/faults.test.ts` (runs on whichever visibility is running).
set -euo pipefail
cd "$(dirname "$0")/.."

export TEMPORAL_ADDRESS=${BUCKETFLOW_TEST_TEMPORAL_CLUSTER_ADDRESS:-127.0.0.1:7333}
stack_dir=${BUCKETFLOW_STACK_DIR:-.stack}
# The suites under test/ that hold on any Temporal server, run here against the cluster. (fast-path-kill.test.ts
# passes too, but its check that the kill lands before every request arrived is timing-bound: on the cluster all
# 60 requests sometimes arrive first; test/cluster/faults.test.ts kills a worker mid-stream instead.)
on_any_server=(
  test/integration/engine.test.ts
  test/integration/ingest.test.ts
  test/integration/status-page.test.ts
  test/integration/store-targets-workflow.test.ts
  test/faults/failover.test.ts
  test/integration/cli-deliveries.test.ts
)
elasticsearch_phase=("${on_any_server[@]}" test/cluster/search-attributes.test.ts test/cluster/faults.test.ts)
postgres_phase=(test/cluster/search-attributes.test.ts test/cluster/sql-visibility.test.ts test/integration/cli-deliveries.test.ts
  test/integration/status-page.test.ts)

# Starts the cluster (and the servers the suites use) with this visibility, restarting it if it runs with another.
cluster_up() {
  local visibility=$1 running
  running=$(cat "$stack_dir/temporal-cluster/run/visibility" 2>/dev/null || true)
  if [ -n "$running" ] && [ "$running" != "$visibility" ]; then npm run --silent stack -- down temporal-cluster; fi
  BUCKETFLOW_TEMPORAL_CLUSTER_VISIBILITY=$visibility npm run --silent stack -- up temporal-cluster redis mariadb
}

run_tests() {
  echo "=== test:cluster: $* (TEMPORAL_ADDRESS=$TEMPORAL_ADDRESS)"
  node --import tsx --test --test-concurrency=1 --test-timeout="${TEST_TIMEOUT_MS:-600000}" "$@"
}

if [ "$#" -gt 0 ]; then
  npm run --silent stack -- up temporal-cluster redis mariadb
  run_tests "$@"
  exit 0
fi
cluster_up elasticsearch
run_tests "${elasticsearch_phase[@]}"
cluster_up postgres
run_tests "${postgres_phase[@]}"
# Leave the cluster as a bare `up temporal-cluster` starts it.
cluster_up elasticsearch
