# pvd-api container image (Debian 12).
#
#   docker build -t pvd-api .
#   docker run --rm -p 8080:8080 -e DATABASE_URL='postgresql://...' pvd-api
#   docker run --rm -e DATABASE_URL='...' pvd-api migrate
#   docker run --rm -e DATABASE_URL='...' pvd-api import-referentiel /usr/share/pvd-api/referentiel 2026
#
# The build context leaves out ./var, ./build, ./node_modules, tests, secrets... (.dockerignore).
# The container needs no writable file system: run it read-only (compose: read_only, Kubernetes:
# readOnlyRootFilesystem), as the numeric user below. `make test` (step "manifests",
# tests/manifests/check.mjs) checks this file, and builds the image where a container runtime
# answers.

# ------------------------------------------------------------------ build stage
FROM debian:12 AS build

# Build packages: deploy/local/deps.sh's libraries (lib*-dev, less the test-only ones), checked by
# the step "manifests" of `make test`.
ARG BUILD_PACKAGES="\
  build-essential pkg-config ca-certificates nodejs npm \
  libulfius-dev libmicrohttpd-dev libyder-dev liborcania-dev libjansson-dev \
  libpq-dev libssl-dev libcurl4-gnutls-dev libcsv-dev librhonabwy-dev zlib1g-dev"
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $BUILD_PACKAGES \
 && rm -rf /var/lib/apt/lists/*

# Referential data (communes, EPCI, ...) from the pinned npm package, production deps only.
# Installed in its own folder so that the source copy below cannot interfere with it.
WORKDIR /ref
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && test -s node_modules/@etalab/decoupage-administratif/data/communes.json

WORKDIR /src
COPY . .
# A build/ directory from the host (.dockerignore bypassed) must not be mistaken for an up-to-date build.
RUN rm -rf build \
 && make build \
 && test -x build/pvd-api

# ------------------------------------------------------------------ runtime stage
FROM debian:12-slim AS runtime

# Runtime libraries: one Debian package for each library the binary links directly (readelf -d:
# NEEDED), plus libcurl3-gnutls (JWKS and webhooks over HTTPS, through ulfius/rhonabwy) and the
# CA certificates. The step "manifests" of `make test` checks the list against build/pvd-api:
# a library added to the Makefile's PKGS (e.g. zlib -> zlib1g) must get its package here.
ARG RUNTIME_PACKAGES="\
  libulfius2.7 libmicrohttpd12 libyder2.0 libjansson4 libpq5 libssl3 librhonabwy1.1 libcsv3 \
  zlib1g libcurl3-gnutls ca-certificates"
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $RUNTIME_PACKAGES \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 pvd \
 && useradd --system --uid 10001 --gid pvd --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin pvd

COPY --from=build /src/build/pvd-api /usr/local/bin/pvd-api
COPY --from=build /ref/node_modules/@etalab/decoupage-administratif/data /usr/share/pvd-api/referentiel

# Fail the image build (not the first start) when the binary needs a library missing above,
# e.g. librhonabwy1.1 once JWT support links it.
RUN if ldd /usr/local/bin/pvd-api | grep 'not found'; then \
      echo "pvd-api: runtime libraries missing from the runtime stage" >&2; exit 1; \
    fi

ENV HTTP_PORT=8080 \
    LANG=C.UTF-8

# Numeric user so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/pvd-api", "healthcheck"]

ENTRYPOINT ["/usr/local/bin/pvd-api"]
CMD ["serve"]
