# The engine's image: one image, two roles (`npm run worker`, `npm run api`), chosen by the command.
# Runs TypeScript through tsx (a runtime dependency), so there is no build step.

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY . .
# The build context may carry the host's node_modules (other OS, dev dependencies) and local data;
# replace them with the dependencies installed above.
RUN rm -rf node_modules .data .git coverage dist
COPY --from=deps /app/node_modules ./node_modules
USER node
EXPOSE 3000
CMD ["npm", "run", "api"]
