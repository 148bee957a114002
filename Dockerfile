# syntax=docker/dockerfile:1
# Base images by their full names: Podman and Buildah refuse short names
# ("golang:...") unless the host configures a default registry.
FROM docker.io/library/golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY server ./server
COPY manifest ./manifest
# What `skewless version` prints: --build-arg VERSION=$(git describe --tags --always)
# (the build context holds no .git, so Go records no commit of its own).
ARG VERSION=""
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/skewless ./server \
 && mkdir -p /out/builds

# Debian 12's distroless image: no shell, no package manager; its user
# "nonroot" is uid/gid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/skewless /usr/local/bin/skewless
# /builds belongs to the user the server runs as: the server writes its
# state into /builds/.skewless/, and a new named volume starts as a copy of
# this folder, owner included. A bind mount keeps its host owner instead
# (see the README: the folder must be writable by the container's user).
COPY --from=build --chown=65532:65532 /out/builds /builds
ENV SKEWLESS_BUILDS=/builds SKEWLESS_ADDR=:8080 SKEWLESS_METRICS_ADDR=:9180
VOLUME ["/builds"]
EXPOSE 8080 9180
USER 65532:65532
# `skewless health` asks this container's server (SKEWLESS_ADDR, and
# SKEWLESS_BASE / SKEWLESS_TLS_CERT when set) for /_skewless/health: 0
# once the current build serves. The first load of large builds may take a
# while: the start period allows for it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=2m --retries=3 \
  CMD ["/usr/local/bin/skewless", "health", "--timeout", "4s"]
ENTRYPOINT ["/usr/local/bin/skewless"]
CMD ["serve"]
