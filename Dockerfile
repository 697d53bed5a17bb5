# The leaseflow runner image: Node 20 (what MikroORM 6 and the lockfile are verified on).
# Stage 1 compiles the package (npm run build: dist/, the example workflows included); stage 2
# holds production dependencies and dist/ only. The runner is PID 1's direct child via compose
# `init: true` (tini), or PID 1 itself with `docker run --init`; it is started as
# `node dist/runner/cli.js …` — never through npm/npx/tsx, which do not pass SIGTERM on — so
# `docker stop` drains it. The libsql SQLite driver ships a prebuilt binary: no compiler needed.
FROM node:20-slim AS build
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build

FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false

# Lockfile first: the dependency layer is rebuilt only when dependencies change.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin

USER node
STOPSIGNAL SIGTERM
CMD ["node", "dist/runner/cli.js", "runner", "--workflows", "./dist/workflows"]
