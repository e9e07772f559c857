# Production image: the backend plus the built client, production dependencies only, as a non-root
# user. Flags go straight to the backend:
#   docker run -p 5000:5000 session-rebuilder --url wss://a.example --url wss://b.example \
#     --api-key KEY --secret SECRET --admin-token TOKEN
# (or the same as env: LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET, ADMIN_TOKEN). With no --url it
# refuses to start: the embedded dev cluster serves only on loopback, and is not in the image.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The browser package the sample app is built on (an npm workspace; examples/ are not part of the image).
COPY packages ./packages
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY client ./client
# The media cluster (werift dev nodes, the local livekit-server launcher) and the local stack are for
# demos and tests: built, then left out, and werift (a devDependency) goes with the prune. main.js loads
# the media cluster only when no --url is given, which this image refuses anyway. The browser package is
# in client/dist once built: without its folder the prune drops it and its peers (livekit-client...) too.
RUN npm run build && rm -rf dist/src/media-cluster dist/src/local-stack packages && npm prune --omit=dev --no-audit --no-fund

FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production PORT=5000 HOST=0.0.0.0
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/client/dist ./client/dist
EXPOSE 5000
# The image's node user (uid 1000), by number so any runtime can resolve it.
USER 1000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 5000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/src/main.js"]
