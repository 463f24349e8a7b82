# syntax=docker/dockerfile:1
# One image for every role: the command chooses it (worker | producer | serve | run … | db migrate).
# It runs the compiled JavaScript, bundled (dist/bundle/, `npm run build`); TypeScript, tsx and every other dev
# dependency stay in the build stage. Two targets:
#
#   docker build --target cpu  -t facet:1.0.0 .        (the default target: the last stage)
#   docker build --target cuda -t facet:1.0.0-cuda .
#
# The cuda target downloads onnxruntime-node's CUDA 12 execution provider at build time (it is
# too large for the npm registry, so its install script fetches it from NuGet); the build needs
# network access for that, and this repository's .npmrc keeps `onnxruntime-node-install=skip`.
# Both run as a numeric non-root user (Kubernetes' runAsNonRoot can only verify a numeric one)
# and write nothing outside /tmp, so they run with a read-only root filesystem and a tmpfs (or
# emptyDir) on /tmp: MODEL_CACHE_DIR defaults to /tmp/facet-models.
# The checks in deploy/dockerfile.test.ts run dockerfile-utils' linter over this file and test
# its stages, user, health check and what each final stage copies.

ARG NODE_IMAGE=node:22.23.5-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc tsconfig.json tsconfig.build.json ./
# No install scripts: onnxruntime-node's would download (the cuda stage runs it on purpose),
# sharp and msgpackr-extract load prebuilt optional packages, and `prepare` is the build below.
RUN npm ci --ignore-scripts --no-audit --no-fund
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
# The build's last step bundles dist/ into dist/bundle/, which bin/facet.mjs runs.
COPY bin/bundle.mjs bin/bundle.mjs
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM build AS build-cuda
# onnxruntime-node's CUDA 12 provider libraries, beside its binding; the build fails here if they
# did not arrive.
RUN ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js \
 && test -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so

# Files the image reads at run time but does not compile: the `facet` entry point and the health
# check, the demo bundle and its report, the default labels maps. Both targets copy this stage.
FROM scratch AS runtime-files
COPY bin /bin
COPY models/demo /models/demo
COPY models/demo.evaluation.json /models/
COPY models/dataset/labels-map.default.json /models/dataset/
COPY models/dataset/maps /models/dataset/maps

# CUDA 12 and cuDNN 9 runtime libraries, which onnxruntime-node's CUDA provider links against;
# Node.js comes from the official image (the same binary as the cpu target).
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 AS cuda
COPY --from=build /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
# The default for this image; a pod's environment may still say cpu.
ENV EXECUTION_PROVIDER=cuda
COPY --from=build-cuda /app/package.json ./
COPY --from=build-cuda /app/node_modules node_modules
COPY --from=build-cuda /app/dist dist
COPY --from=runtime-files / ./
USER 10001:10001
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["node", "bin/healthcheck.mjs"]
ENTRYPOINT ["node", "--max-semi-space-size=64", "bin/facet.mjs"]
CMD ["worker"]

# The last stage, so a plain `docker build .` makes the CPU image.
FROM ${NODE_IMAGE} AS cpu
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=runtime-files / ./
USER 10001:10001
# /healthz on METRICS_PORT: every long-running role answers it (bin/healthcheck.mjs).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["node", "bin/healthcheck.mjs"]
# --max-semi-space-size=64: V8's young generation sized for a worker's per-photo garbage
# (about 2.5 ms less CPU per product in bench:pipeline; see bin/facet.mjs).
ENTRYPOINT ["node", "--max-semi-space-size=64", "bin/facet.mjs"]
CMD ["worker"]
