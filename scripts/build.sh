#!/usr/bin/env bash
# `npm run build`: compiles src/, workflows/ and activities/ to dist/ (JS, declarations, source maps), bundles
# the workflows once (dist/workflows.bundle.js, and dist/workflows-traced.bundle.js for tracing), and records
# the hash of the sources it was built from in dist/.source-hash, so scripts/entry.sh runs dist/ only while
# it matches them.
set -euo pipefail
cd "$(dirname "$0")/.."
hash=$(bash scripts/entry.sh --source-hash) # before compiling: an edit made during the build makes it stale
rm -rf dist
npx tsc -p tsconfig.build.json
node dist/src/engine/workflow-bundle.js dist/workflows.bundle.js
node dist/src/engine/workflow-bundle.js dist/workflows-traced.bundle.js --traced # for OTEL_EXPORTER_OTLP_ENDPOINT (src/telemetry/tracing.ts)
echo "$hash" > dist/.source-hash
