# One image for every role: the command chooses it (facet worker | producer | run … | db migrate).
# TypeScript runs through tsx (a runtime dependency), so there is no build step.
# GPU images: build with --build-arg ORT_INSTALL=cuda12 on a CUDA base image with network access
# to onnxruntime's CUDA binaries; CPU images keep "skip" (nothing is downloaded).
FROM node:20-bookworm-slim
ARG ORT_INSTALL=skip
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN sed -i "s/^onnxruntime-node-install=.*/onnxruntime-node-install=${ORT_INSTALL}/" .npmrc \
 && npm ci --omit=dev --no-audit --no-fund
COPY bin bin
COPY cli cli
COPY models/runtime models/runtime
COPY models/catalogue models/catalogue
COPY models/dataset models/dataset
COPY models/review models/review
COPY models/card models/card
COPY models/demo models/demo
COPY models/demo.evaluation.json models/
COPY producers producers
COPY shared shared
COPY workers workers
COPY tsconfig.json ./
USER node
# --max-semi-space-size=64: V8's young generation sized for a worker's per-photo garbage
# (about 2.5 ms less CPU per product in bench:pipeline; see bin/facet.mjs).
ENTRYPOINT ["node", "--max-semi-space-size=64", "bin/facet.mjs"]
CMD ["worker"]
