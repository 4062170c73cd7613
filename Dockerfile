# syntax=docker/dockerfile:1
# The base of both stages: the public Node 20 image, or one laid out as it is where no
# registry can be reached (scripts/make-container-base.sh, README "Container").
ARG BASE=node:20-bookworm-slim

# Build stage: compile TypeScript with the dev dependencies.
FROM ${BASE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
# --ignore-scripts: "prepare" would build before the sources are copied
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
RUN npm run build

# Runtime stage: the compiled code and a fresh production-only install, as a non-root user.
FROM ${BASE}
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: "prepare" runs tsc, which a production install does not have
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config ./config
RUN mkdir -p /app/certs /app/var/spool && chown -R node:node /app/certs /app/var
# The image's config (config/container.yaml): every address on the unprivileged port 2525,
# certificate and spool in the volumes, JSON logs. Every command reads it, health included;
# mount your own over it or point TLSRELAY_CONFIG elsewhere.
ENV TLSRELAY_CONFIG=/app/config/container.yaml
USER node
# config (mount a file over config/container.yaml, or a folder and set TLSRELAY_CONFIG), certificates, the spool
VOLUME ["/app/config", "/app/certs", "/app/var/spool"]
# 2525 the container config's listener (docker run -p 25:2525); 25, 465, 587 for configs
# of your own where the runtime lets the node user bind them (README, "Container")
EXPOSE 2525 25 465 587
# the first listener's 220 greeting, asked as a client would; start-period: a first start
# generates the development certificate
HEALTHCHECK --interval=30s --timeout=15s --start-period=30s --retries=3 CMD ["node", "dist/main.js", "health"]
ENTRYPOINT ["node", "dist/main.js"]
CMD ["start"]
