# One image for every role: the command chooses it (facet worker | producer | serve | run … | db migrate).
# It runs the compiled JavaScript (dist/, `npm run build`); TypeScript and tsx stay in the build stage.
# GPU images: build with --build-arg ORT_INSTALL=cuda12 on a CUDA base image with network access
# to onnxruntime's CUDA binaries; CPU images keep "skip" (nothing is downloaded).
FROM node:20-bookworm-slim AS build
ARG ORT_INSTALL=skip
WORKDIR /app
COPY package.json package-lock.json .npmrc tsconfig.json tsconfig.build.json ./
COPY cli cli
COPY shared shared
COPY workers workers
COPY producers producers
COPY server server
COPY models/runtime models/runtime
COPY models/catalogue models/catalogue
COPY models/dataset models/dataset
COPY models/review models/review
COPY models/card models/card
# npm ci builds dist/ (the prepare script); then the dev dependencies go.
RUN sed -i "s/^onnxruntime-node-install=.*/onnxruntime-node-install=${ORT_INSTALL}/" .npmrc \
 && npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app/package.json /app/.npmrc ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY bin bin
# Files read at run time (not compiled): the demo bundle and its report, the default labels maps.
COPY models/demo models/demo
COPY models/demo.evaluation.json models/
COPY models/dataset/labels-map.default.json models/dataset/
COPY models/dataset/maps models/dataset/maps
USER node
# --max-semi-space-size=64: V8's young generation sized for a worker's per-photo garbage
# (about 2.5 ms less CPU per product in bench:pipeline; see bin/facet.mjs).
ENTRYPOINT ["node", "--max-semi-space-size=64", "bin/facet.mjs"]
CMD ["worker"]
