# Production image: the backend plus the built client. Point it at a LiveKit cluster with flags or env:
#   docker run -p 5000:5000 -e LIVEKIT_URL=wss://a.example,wss://b.example \
#     -e LIVEKIT_API_KEY=... -e LIVEKIT_API_SECRET=... session-rebuilder
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
COPY test ./test
COPY client ./client
RUN npm run build && npm prune --omit=dev

FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production PORT=5000 HOST=0.0.0.0
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/client/dist ./client/dist
EXPOSE 5000
USER node
CMD ["node", "dist/src/main.js"]
