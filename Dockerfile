# The engine's image: one image, three roles chosen by the command (compose and infra/k8s/ set it):
#   node dist/api/main.js            the API (the default)
#   node dist/worker/main.js         the worker
#   node dist/scripts/migrate.js     migrations and definitions, once per release (then exits)
#   node dist/scripts/admin.js ...   the admin CLI (first administrator, tokens, password resets)
# Compiled JavaScript and a prebuilt workflow bundle; production dependencies only. node is PID 1's
# child (compose `init: true`, Kubernetes' pause container) and receives SIGTERM itself, so the worker
# drains and the API finishes its requests.
# scripts/image-check.sh runs these same steps without Docker (and measures node_modules).

ARG NODE_IMAGE=node:22-bookworm-slim

# Everything, dev dependencies included: compile TypeScript, bundle the workflows, build the web app.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY web/package.json web/
RUN PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm run build:web

# Production dependencies of the engine only: no web workspace (its bundle is in web/dist), no
# embedded Postgres, no Temporal test server, no tsx.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=build /app/dist/scripts/prune-node-modules.js scripts/
# Then drop what no process reads: the core bridge's libraries for other platforms, type declarations,
# source maps, TypeScript sources (341 MB to 140 MB).
RUN npm ci --omit=dev --workspaces=false --include-workspace-root --no-audit --no-fund \
  && npm cache clean --force \
  && node scripts/prune-node-modules.js node_modules

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY definitions ./definitions
COPY db/migrations ./db/migrations
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist
USER node
EXPOSE 3000
# /readyz: Postgres and Temporal reachable (SMTP reported, not fatal). The worker's command overrides
# the check in compose and Kubernetes.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=5 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT || 3000}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/api/main.js"]
