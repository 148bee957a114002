# syntax=docker/dockerfile:1
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY server ./server
COPY manifest ./manifest
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/skewless ./server

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/skewless /usr/local/bin/skewless
ENV SKEWLESS_BUILDS=/builds SKEWLESS_ADDR=:8080 SKEWLESS_METRICS_ADDR=:9180
VOLUME ["/builds"]
EXPOSE 8080 9180
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/skewless"]
CMD ["serve"]
