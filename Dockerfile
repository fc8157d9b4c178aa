# syntax=docker/dockerfile:1
# AnyGate container image: compile TypeScript in a build stage, ship only the
# compiled JavaScript, the YAML config and the production dependencies.
#
#   docker build -t anygate .
#   docker run --rm -p 8080:8080 -e OPENAI_API_KEY=... anygate
#
# Configuration: the embedded config/anygate.yaml is used by default; mount your
# own and point ANYGATE_CONFIG (or --config) at it, e.g.
#   docker run -v $PWD/my.yaml:/app/config/custom.yaml:ro -e ANYGATE_CONFIG=/app/config/custom.yaml anygate

# ---- build: all dependencies + tsc -------------------------------------------
FROM node:20-slim AS build
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false \
    NPM_CONFIG_LOGLEVEL=warn
# Manifests first so the dependency layer is cached across source-only changes.
# --ignore-scripts: the build needs only tsc; the one install script in the tree
# (esbuild, via vitest) is for tests.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
# The rest of the sources, filtered by .dockerignore (no node_modules, dist, test).
# One COPY, not one per folder: tsconfig.build.json decides what compiles, and a
# folder git doesn't track while empty (bench/ today) would break a per-folder COPY.
COPY . .
# config/ ships to the runtime stage for its YAML only: drop its TypeScript sources.
RUN npm run build \
 && find config -name '*.ts' -delete

# ---- runtime: production dependencies + dist/ + config/ ----------------------
FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false \
    NPM_CONFIG_LOGLEVEL=warn
COPY package.json package-lock.json ./
# No runtime dependency has an install script, so --ignore-scripts loses nothing.
# Then drop npm's download cache (~/.npm of root) from the layer.
RUN npm ci --omit=dev --ignore-scripts \
 && rm -rf /root/.npm /tmp/*
# Root-owned and read-only for the app user: the gateway keeps state in memory only.
COPY --from=build /app/dist ./dist
COPY --from=build /app/config ./config

# Listen on every interface inside the container (the YAML default is 127.0.0.1).
ENV HOST=0.0.0.0 \
    PORT=8080
EXPOSE 8080
USER node

# No curl in slim images: probe readiness with node's built-in fetch.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health/ready',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# Node runs as PID 1 with no init (tini/--init): server.ts installs its own
# SIGTERM/SIGINT handlers, drains in-flight requests and exits 0, and the server
# spawns no child processes, so there are no zombies to reap. Draining waits up
# to server.shutdown_timeout_ms (30 s by default), longer than `docker stop`'s
# 10 s grace: use `docker stop -t 35` (or lower the timeout) for a full drain.
STOPSIGNAL SIGTERM
CMD ["node", "dist/server.js"]
