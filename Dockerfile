# syntax=docker/dockerfile:1
# coze2app as a container: a static binary (no cgo: SQLite is pure Go) on
# distroless, running as a non-root user, its SQLite database and token key
# in the /data volume.
#
#   docker build -t coze2app --build-arg VERSION=$(git describe --always) .
#   docker run -p 5000:5000 -v coze2app-data:/data coze2app      # demo mode
#
# Configure it with the same environment variables as the binary (README);
# deploy/compose.yaml runs two instances on PostgreSQL behind nginx.

ARG GO_VERSION=1.26
FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
        -ldflags "-s -w -X github.com/coze2app/coze2app/internal/app.Version=${VERSION}" \
        -o /out/coze2app ./cmd/coze2app \
    && /out/coze2app version \
    && mkdir -p /out/data

# static-debian12: CA certificates (to reach Coze over HTTPS) and tzdata, no
# shell; :nonroot runs as uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/coze2app /coze2app
COPY --from=build --chown=65532:65532 /out/data /data
# Demo mode (no COZE_CLIENT_ID) refuses this wildcard address unless
# COZE2APP_DEMO_PUBLIC=on is set as well: see README "Security".
ENV COZE2APP_ADDR=:5000 \
    COZE2APP_DATABASE_URL=sqlite:/data/coze2app.db
VOLUME /data
EXPOSE 5000
USER 65532:65532
# No curl in the image: the binary probes its own /healthz (https when
# COZE2APP_TLS_CERT or COZE2APP_ACME_DOMAINS is set).
HEALTHCHECK --interval=30s --timeout=10s --start-period=15s --retries=3 \
    CMD ["/coze2app", "healthcheck"]
ENTRYPOINT ["/coze2app"]
CMD ["serve"]
