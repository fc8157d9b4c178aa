# syntax=docker/dockerfile:1
# AnyGate container image: compile TypeScript in a build stage, ship only the
# compiled JavaScript, the YAML config and the production dependencies.
#
#   docker build -t anygate .
#   docker run --rm -p 8080:8080 -e OPENAI_API_KEY=... anygate
#
# Configuration: the embedded config/anygate.yaml is used by default; mount your
# own and point ANYGATE_CONFIG (or --config) at it, e.g.
#   docker run -v $PWD/my.yaml:/etc/anygate/anygate.yaml:ro -e ANYGATE_CONFIG=/etc/anygate/anygate.yaml anygate
# docker-compose.yml and deploy/k8s/ do exactly that. `npm run container:check`
# builds this file and proves the image serves, runs as non-root and stops on SIGTERM.

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
# The rest of the sources, filtered by .dockerignore (no node_modules, dist, test,
# bench, deploy). One COPY, not one per folder: tsconfig.build.json decides what compiles.
COPY . .
# config/ ships to the runtime stage for its YAML only: drop its TypeScript sources.
# routes/ui/public (GET /ui) is plain HTML and ES modules that tsc does not copy;
# its .d.ts files only type them for the tests.
RUN npm run build \
 && rm -f dist/.tsbuildinfo \
 && find config -name '*.ts' -delete \
 && find routes/ui/public -name '*.d.ts' -delete

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
# Root-owned and read-only for the app user: the gateway writes nothing to disk,
# so the image also runs with a read-only root filesystem (deploy/k8s does).
COPY --from=build /app/dist ./dist
COPY --from=build /app/config ./config
# Found from dist/routes/ui.js by walking up to the package root.
COPY --from=build /app/routes/ui/public ./routes/ui/public

# Listen on every interface inside the container (the YAML default is 127.0.0.1);
# HOST overrides the config file's server.host. No PORT here: the port comes from
# the config file (8080 unless it says otherwise) or from -e PORT=.
ENV HOST=0.0.0.0
EXPOSE 8080
# The node user (uid 1000) of the base image: never root.
USER node

# No curl in slim images: probe readiness with node itself. HEALTHCHECK_URL
# overrides the URL, e.g. for another port; an https URL (server.tls) is probed
# without verifying the certificate, which is issued for the public name, not
# for 127.0.0.1. Note: OCI-format builds (buildah/podman default) drop
# HEALTHCHECK; build with --format docker (BUILDAH_FORMAT=docker) to keep it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "const u=process.env.HEALTHCHECK_URL||'http://127.0.0.1:'+(process.env.PORT||8080)+'/health/ready';require(u.startsWith('https:')?'node:https':'node:http').get(u,{rejectUnauthorized:false,timeout:4000},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1)).on('timeout',()=>process.exit(1))"]

# Node runs as PID 1 with no init (tini/--init): server.ts installs its own
# SIGTERM/SIGINT handlers (PID 1 gets no default ones), drains in-flight
# requests and exits 0, and the server spawns no child processes, so there are
# no zombies to reap. Draining waits up to server.shutdown_timeout_ms (30 s by
# default), longer than `docker stop`'s 10 s grace: use `docker stop -t 35`
# (compose: stop_grace_period; k8s: terminationGracePeriodSeconds) or lower it.
STOPSIGNAL SIGTERM
# --max-semi-space-size=8 --no-allocation-site-pretenuring: see config/node-flags.ts (also in
# package.json's start script).
CMD ["node", "--max-semi-space-size=8", "--no-allocation-site-pretenuring", "dist/server.js"]
