# syntax=docker/dockerfile:1
# One image for every service; the command picks which one runs:
#   docker run armature                       → the whole system, embedded (PGlite)
#   docker run armature services/users/src/main.ts   → one service (scale-out)

FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/contracts/package.json packages/contracts/
COPY packages/platform/package.json packages/platform/
COPY packages/cli/package.json packages/cli/
COPY packages/client/package.json packages/client/
COPY packages/console/package.json packages/console/
COPY services/gateway/package.json services/gateway/
COPY services/users/package.json services/users/
COPY services/orders/package.json services/orders/
COPY services/payments/package.json services/payments/
# armature:new-service dockerfile
COPY packages/testing/package.json packages/testing/
COPY test/e2e/package.json test/e2e/
COPY bench/package.json bench/
# Production dependencies only; the base image already is Node 24, so the pinned `node` dev
# dependency is not needed here.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# The console's single page, built with Vite (a development dependency) in a stage of its own.
FROM node:24-slim AS console
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages ./packages
COPY services ./services
COPY test/e2e/package.json test/e2e/
COPY bench/package.json bench/
RUN npm ci --ignore-scripts --no-audit --no-fund && npm run build -w @armature/console

FROM node:24-slim AS runtime
ENV NODE_ENV=production \
    DATA_DIR=/data \
    HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY packages ./packages
COPY services ./services
COPY --from=console /app/packages/console/dist ./packages/console/dist
# The empty database cluster that each new embedded database is copied from, made once here so that a
# first start on an empty volume copies it instead of running initdb (the cache stays the node user's).
RUN node packages/cli/src/armature.ts prepare-embedded && chown -R node:node node_modules/.cache
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node"]
# The embedded system starts with the Node flags of `npm start` (package.json's start script; a test
# keeps the two the same): a smaller young generation and one V8 worker thread.
CMD ["--max-semi-space-size=8", "--v8-pool-size=1", "packages/cli/src/armature.ts", "start"]
