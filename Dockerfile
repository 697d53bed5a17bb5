# The leaseflow runner image: Node 20 (what MikroORM 6 and the lockfile are verified on),
# production dependencies only (tsx runs the TypeScript directly, so there is no build step).
# The libsql SQLite driver ships a prebuilt binary, so no compiler is needed in the image.
FROM node:20-slim

WORKDIR /app
ENV NODE_ENV=production \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false

# Lockfile first: the dependency layer is rebuilt only when dependencies change.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

COPY . .

USER node
STOPSIGNAL SIGTERM
CMD ["npx", "tsx", "runner/cli.ts", "runner", "--workflows", "./workflows"]
