# syntax=docker/dockerfile:1
# Quarry: API (`npm start`) and standalone worker (`npm run worker`) from one image.

FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; tsx is one of them (the service runs its TypeScript directly).
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    DATA_DIR=/app/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY src ./src
COPY routes ./routes
COPY services ./services
COPY db ./db
COPY prompts ./prompts
COPY openapi ./openapi
# The /ui page's files, and the CLI (`docker exec … npx quarry runs`).
COPY ui ./ui
COPY bin ./bin
COPY cli ./cli
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
# Without API_KEYS the service listens on 127.0.0.1 only, which this check still reaches.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "--import", "tsx", "src/server.ts"]
