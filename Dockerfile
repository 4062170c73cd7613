# syntax=docker/dockerfile:1
# Build stage: compile TypeScript with the dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
# --ignore-scripts: "prepare" would build before the sources are copied
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
RUN npm run build

# Runtime stage: the compiled code and a fresh production-only install, as a non-root user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: "prepare" runs tsc, which a production install does not have
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config ./config
RUN mkdir -p /app/certs /app/var/spool && chown -R node:node /app/certs /app/var
# Binding port 25 (or 465, 587) as this user needs the runtime to allow unprivileged low
# ports (Docker's default net.ipv4.ip_unprivileged_port_start=0): see README, "Container".
USER node
# config (mount your own tlsrelay.yaml over config/), certificates, and the spool
VOLUME ["/app/config", "/app/certs", "/app/var/spool"]
# 25 MX, 465 implicit TLS, 587 submission, 2525 the default config's listener
EXPOSE 25 465 587 2525
ENTRYPOINT ["node", "dist/main.js"]
CMD ["start", "-c", "config/tlsrelay.yaml"]
