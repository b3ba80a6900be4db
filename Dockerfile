# syntax=docker/dockerfile:1
# gigastt: one self-contained executable on distroless (glibc + libstdc++, no shell).
#
#   docker build -t gigastt .                                  # model downloaded on first start (volume)
#   docker build -t gigastt --build-arg GIGASTT_BAKE_MODEL=1 . # model baked into the image
#   docker run -p 127.0.0.1:9876:9876 -v gigastt-models:/home/nonroot/.gigastt/models gigastt
#
# What the final image holds is listed in packaging/rootfs.list (the same list
# test/ship/chroot.test.ts rebuilds from Debian packages and runs).

ARG BUN_VERSION=1.4.5

# ---- build: compile the executable for the image's architecture --------------
FROM --platform=$BUILDPLATFORM oven/bun:${BUN_VERSION} AS build
WORKDIR /src
COPY package.json bun.lock bunfig.toml tsconfig.json ./
RUN bun install --frozen-lockfile
COPY src ./src
COPY scripts ./scripts
COPY packaging ./packaging
COPY THIRD_PARTY_NOTICES LICENSE ./
ARG TARGETARCH
ARG GIGASTT_COMMIT=unknown
RUN case "${TARGETARCH:-amd64}" in amd64) echo x64 ;; arm64) echo arm64 ;; *) echo "unsupported TARGETARCH ${TARGETARCH}" >&2; exit 1 ;; esac > /tmp/arch \
 && GIGASTT_COMMIT="$GIGASTT_COMMIT" bun scripts/compile.ts --target "linux-$(cat /tmp/arch)" \
 && bun scripts/lib/build-rootfs.ts stage --arch "$(cat /tmp/arch)" --out /stage

# ---- model: optionally bake the GigaAM v3 model in ----------------------------
FROM build AS model
ARG GIGASTT_BAKE_MODEL=0
RUN mkdir -p /models \
 && if [ "$GIGASTT_BAKE_MODEL" = 1 ]; then bun src/main.ts download --model-dir /models; fi

# ---- runtime: distroless, uid 65532 ---------------------------------------------
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build --chown=0:0 /stage/root/ /
# only the folder the image adds: copying the whole nonroot tree onto / would re-own and re-mode
# the base's /home and /home/nonroot (0700) too
COPY --from=build --chown=65532:65532 /stage/nonroot/home/nonroot/.gigastt /home/nonroot/.gigastt
COPY --from=model --chown=65532:65532 /models/ /home/nonroot/.gigastt/models/
ENV HOME=/home/nonroot
ENV PATH=/usr/local/bin:/usr/bin:/bin
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
WORKDIR /home/nonroot
EXPOSE 9876
VOLUME ["/home/nonroot/.gigastt/models"]
# readiness, not liveness: /ready is 503 until the model is downloaded and loaded (a first start
# downloads ≈ 892 MB), and it follows the port when it is set with GIGASTT_PORT
HEALTHCHECK --interval=30s --timeout=5s --start-period=15m --retries=3 CMD ["/usr/local/bin/gigastt", "healthcheck", "--ready"]
ENTRYPOINT ["/usr/local/bin/gigastt", "serve", "--host", "0.0.0.0", "--bind-all"]
