# syntax=docker/dockerfile:1
# Build stage: compile TypeScript with the dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Runtime stage: only the compiled code and production dependencies, as a non-root user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config ./config
RUN mkdir -p /app/certs /app/var/spool && chown -R node:node /app/certs /app/var
USER node
# config (mount your own tlsrelay.yaml over config/), certificates, and the spool
VOLUME ["/app/config", "/app/certs", "/app/var/spool"]
# 25 MX, 465 implicit TLS, 587 submission, 2525 the default config's listener
EXPOSE 25 465 587 2525
ENTRYPOINT ["node", "dist/main.js"]
CMD ["start", "-c", "config/tlsrelay.yaml"]
