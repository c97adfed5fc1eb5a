# One image for the five services; docker-compose.yml picks the service with MINICLOUD_SERVICE.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.base.json tsconfig.build.json ./
COPY apps apps
COPY libs libs
COPY bench bench
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends qemu-utils openssh-client curl && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json tsconfig.base.json ./
COPY tools tools
ENV HOST=0.0.0.0
CMD ["sh", "-c", "exec node -r ./tools/register-paths.js dist/apps/${MINICLOUD_SERVICE}/src/main.js"]
