# pvd-api — build, run and test. `make run` and `make test` do all the set-up
# on a fresh Debian 12 (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := build

PKGS      := libulfius libmicrohttpd libyder jansson libpq openssl librhonabwy zlib libcurl
CC        ?= gcc
WARN      := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
             -Wmissing-prototypes -Wvla -fno-common
BASEFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I. -MMD -MP $(WARN)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libcsv (RFC 4180 parser of the lauréats import) ships no pkg-config file.
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -pthread -lcsv
CFLAGS    ?= -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong
ASANFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

DOMAIN_SRC := $(wildcard domain/*.c)
DB_SRC     := $(wildcard db/*.c)
API_SRC    := $(filter-out api/main.c,$(wildcard api/*.c api/handlers/*.c))
MIGRATIONS := $(sort $(wildcard db/migrations/*.sql))
# Modules the unit tests link: pure code, no server, no database.
# JWT_SRC: the verifier, its key sets and the signer (api/jwt.h, jwt_keys.h, jwt_signer.h),
# and the SHA-256 they and the other modules share (api/digest.h).
JWT_SRC    := $(wildcard api/jwt*.c) api/base64url.c api/digest.c
UNIT_SRC   := $(DOMAIN_SRC) api/problem.c api/cursor.c api/config.c api/log.c api/xalloc.c \
              api/json_body.c api/json_spec.c $(JWT_SRC) api/cors.c api/rate_limit.c \
              api/laureats_csv.c api/csv_export.c
UNIT_SRC   += api/query_params.c
UNIT_SRC   += api/parametres_json.c
UNIT_SRC   += api/content_coding.c
UNIT_SRC   += api/webhook_crypto.c
UNIT_SRC   += api/token_cache.c
UNIT_SRC   += api/read_cache.c

B := build
OBJ      = $(patsubst %.c,$(B)/obj/%.o,$(1))
ASAN_OBJ = $(patsubst %.c,$(B)/asan-obj/%.o,$(1))

.PHONY: all build deps npm run test unit integration asan fuzz bench fmt fmt-check lint-openapi \
        clean routes docs manifests
all: build

deps:
	@deploy/local/deps.sh
	@$(MAKE) --no-print-directory npm

# node_modules: the referential data, the OpenAPI linter and bundler, the contract validator.
npm: node_modules/.package-lock.json
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

build: $(B)/pvd-api

# The contract: openapi/openapi.yaml (root) and the files it includes (paths/, components/),
# made one document by the pinned Redocly, then embedded as compact JSON (deploy/build/).
# webcrypto.cjs: the global `crypto` build-docs needs, absent from Node 18 (Debian 12).
REDOCLY     := REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
               NODE_OPTIONS="--require $(CURDIR)/deploy/build/webcrypto.cjs" node_modules/.bin/redocly
OPENAPI_SRC := $(wildcard openapi/*.yaml openapi/*/*.yaml openapi/*/*/*.yaml openapi/plugins/*.cjs)

$(B)/openapi.bundle.yaml: $(OPENAPI_SRC) node_modules/.package-lock.json
	@mkdir -p $(@D)
	$(REDOCLY) bundle --config openapi/redocly.yaml openapi/openapi.yaml -o $(B)/openapi.bundle.tmp.yaml
	@mv $(B)/openapi.bundle.tmp.yaml $@

$(B)/openapi.json: $(B)/openapi.bundle.yaml openapi/openapi.yaml deploy/build/openapi_json.mjs
	node deploy/build/openapi_json.mjs $< openapi/openapi.yaml > $@.tmp && mv $@.tmp $@

$(B)/gen/embedded.c: $(B)/openapi.json $(MIGRATIONS) deploy/build/embed.sh
	@mkdir -p $(@D)
	deploy/build/embed.sh $(B)/openapi.json $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

# The documentation page (GET /api/v1/docs): Redoc rendered from the served spec by the pinned
# Redocly CLI, its renderer inlined (--inlineBundle: no CDN, works offline), then embedded with
# its gzip form, ETag and CSP; docs_embed.mjs fails when the page would load anything from
# elsewhere.
docs: $(B)/gen/docs.c
$(B)/docs/index.html: $(B)/openapi.json openapi/docs.hbs openapi/redocly.yaml node_modules/.package-lock.json
	@mkdir -p $(@D)
	$(REDOCLY) build-docs --config openapi/redocly.yaml $(B)/openapi.json --inlineBundle \
	  --template openapi/docs.hbs -o $(B)/docs/index.tmp.html >/dev/null
	@mv $(B)/docs/index.tmp.html $@

$(B)/gen/docs.c: $(B)/docs/index.html deploy/build/docs_embed.mjs
	@mkdir -p $(@D)
	node deploy/build/docs_embed.mjs $< > $@.tmp && mv $@.tmp $@

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "CC $<"
	@$(CC) $(BASEFLAGS) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(B)/asan-obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "CC (asan) $<"
	@$(CC) $(BASEFLAGS) $(ASANFLAGS) $(PKG_CFLAGS) -c $< -o $@

SERVER_SRC := $(DOMAIN_SRC) $(DB_SRC) $(API_SRC) api/main.c $(B)/gen/embedded.c $(B)/gen/docs.c

$(B)/pvd-api: $(call OBJ,$(SERVER_SRC))
	$(CC) $(CFLAGS) $^ -o $@ $(PKG_LIBS)

$(B)/bin/pvd-api-asan: $(call ASAN_OBJ,$(SERVER_SRC))
	@mkdir -p $(@D)
	$(CC) $(ASANFLAGS) $^ -o $@ $(PKG_LIBS)

# ---- tests ---------------------------------------------------------------
UNIT_TESTS := $(wildcard tests/unit/test_*.c)
# The unit tests read the bundled contract (tests/unit/test_problem.c).
$(B)/bin/unit: $(call OBJ,$(UNIT_SRC) $(UNIT_TESTS)) | $(B)/openapi.bundle.yaml
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ $(PKG_LIBS) -lcriterion

$(B)/bin/unit-asan: $(call ASAN_OBJ,$(UNIT_SRC) $(UNIT_TESTS)) | $(B)/openapi.bundle.yaml
	@mkdir -p $(@D)
	$(CC) $(ASANFLAGS) $^ -o $@ $(PKG_LIBS) -lcriterion

IT_SUPPORT := $(wildcard tests/support/*.c)
IT_API     := $(filter-out tests/integration/test_db.c,$(wildcard tests/integration/test_*.c))
$(B)/bin/integration: $(call OBJ,$(IT_API) $(IT_SUPPORT))
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ $(PKG_LIBS) -lcriterion $(shell pkg-config --libs libcurl)

$(B)/bin/test-idp: $(call OBJ,tests/idp/test_idp.c $(JWT_SRC) api/xalloc.c api/log.c)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ $(PKG_LIBS)

RES_TESTS := $(wildcard tests/resilience/test_*.c)
$(B)/bin/resilience: $(call OBJ,$(RES_TESTS) $(IT_SUPPORT))
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ $(PKG_LIBS) -lcriterion $(shell pkg-config --libs libcurl)

# The real lauréats file imported in its own database (tests/run.sh import_suite).
IMPORT_TESTS := $(wildcard tests/import/test_*.c)
$(B)/bin/import-reel: $(call OBJ,$(IMPORT_TESTS) $(IT_SUPPORT))
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ $(PKG_LIBS) -lcriterion $(shell pkg-config --libs libcurl)

# The db suite links the embedded migrations: its fiche tests apply the real schema.
$(B)/bin/db: $(call OBJ,tests/integration/test_db.c $(DB_SRC) $(DOMAIN_SRC) $(B)/gen/embedded.c)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ $(PKG_LIBS) -lcriterion

$(B)/bin/db-asan: $(call ASAN_OBJ,tests/integration/test_db.c $(DB_SRC) $(DOMAIN_SRC) $(B)/gen/embedded.c)
	@mkdir -p $(@D)
	$(CC) $(ASANFLAGS) $^ -o $@ $(PKG_LIBS) -lcriterion

# Thread test of the rate limiter under ThreadSanitizer (criterion cannot run under TSan).
$(B)/bin/tsan-rate-limit: tests/unit/tsan_rate_limit.c api/rate_limit.c api/rate_limit.h
	@mkdir -p $(@D)
	$(CC) $(filter-out -MMD -MP,$(BASEFLAGS)) -O1 -g -fsanitize=thread $(filter %.c,$^) -o $@ \
	  -pthread

# The same for the verified-token cache (issue 12 §4).
$(B)/bin/tsan-token-cache: tests/unit/tsan_token_cache.c api/token_cache.c api/token_cache.h \
                           api/digest.c api/digest.h
	@mkdir -p $(@D)
	$(CC) $(filter-out -MMD -MP,$(BASEFLAGS)) -O1 -g -fsanitize=thread $(filter %.c,$^) -o $@ \
	  -pthread -lcrypto

# The same for the read cache (issue 12 §4).
$(B)/bin/tsan-read-cache: tests/unit/tsan_read_cache.c api/read_cache.c api/read_cache.h api/xalloc.c
	@mkdir -p $(@D)
	$(CC) $(filter-out -MMD -MP,$(BASEFLAGS)) -O1 -g -fsanitize=thread $(filter %.c,$^) -o $@ \
	  -pthread

FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
$(B)/fuzz/%: tests/fuzz/%.c $(UNIT_SRC)
	@mkdir -p $(@D)
	clang $(BASEFLAGS) -Wno-missing-prototypes -O1 -g -fsanitize=fuzzer,address,undefined \
	  $(PKG_CFLAGS) $(filter %.c,$^) -o $@ $(PKG_LIBS)

test-binaries: $(B)/pvd-api $(B)/bin/pvd-api-asan $(B)/bin/unit $(B)/bin/unit-asan \
               $(B)/bin/integration $(B)/bin/resilience $(B)/bin/db $(B)/bin/test-idp $(B)/bin/db-asan \
               $(B)/bin/import-reel \
               $(B)/bin/tsan-rate-limit $(B)/bin/tsan-token-cache \
               $(B)/bin/tsan-read-cache $(FUZZ_TARGETS)

unit: $(B)/bin/unit
	$(B)/bin/unit --jobs 2

fuzz: $(FUZZ_TARGETS)
	tests/fuzz/run.sh $(FUZZ_TARGETS)

# Everything: unit tests, fuzzing, OpenAPI lint and cross-check, the API and
# database suites against a real PostgreSQL (normal build, then ASan+UBSan).
test: deps
	@$(MAKE) --no-print-directory -j2 test-binaries
	tests/run.sh

# The image and the deployment descriptions (also a step of `make test`): see
# tests/manifests/check.mjs. build/pvd-api is needed for its linked libraries.
manifests: npm $(B)/pvd-api
	node tests/manifests/check.mjs

routes: $(B)/pvd-api
	@$(B)/pvd-api routes

lint-openapi: npm
	$(REDOCLY) lint --config openapi/redocly.yaml openapi/openapi.yaml

# Serves on HTTP_PORT (8080); embedded PostgreSQL under ./var/ unless DATABASE_URL is set.
run: deps
	@$(MAKE) --no-print-directory build
	deploy/local/run.sh

bench: deps
	@$(MAKE) --no-print-directory build $(B)/bench/mhd_hello $(B)/bin/test-idp
	tests/bench/bench.sh

$(B)/bench/mhd_hello: tests/bench/mhd_hello.c
	@mkdir -p $(@D)
	$(CC) $(BASEFLAGS) -O2 $(PKG_CFLAGS) $< -o $@ $(PKG_LIBS)

FMT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
fmt:
	clang-format -i $(FMT_FILES)
fmt-check:
	clang-format --dry-run --Werror $(FMT_FILES)

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
