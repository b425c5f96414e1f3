# Ruche — the two commands that matter: `make demo` and `make test`.
# Both install what is missing (as root, from Debian's packages and the Go
# module proxy) before they build.

SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/ruche-box/ruche/cmd/ruche/cli.version=$(VERSION)
BIN := bin

# Debian packages the tests use: systemd-analyze (calendar golden tests),
# DokuWiki and php-fpm (the wiki, also in the demo pack).
# Postfix, postsrsd and the SASL modules (mail), msmtp (the wiki's mail).
# Chromium: the panel's end-to-end tests and screenshots (headless).
# mmdebstrap and systemd-nspawn (systemd-container): the systemd backend's
# tests boot a real systemd in a container (nsenter is util-linux's).
TEST_PACKAGES := systemd ca-certificates git dokuwiki php8.2-fpm msmtp postfix postsrsd libsasl2-modules openssh-server openssh-client chromium mmdebstrap systemd-container
DEMO_PACKAGES := ca-certificates dokuwiki php8.2-fpm msmtp postfix postsrsd libsasl2-modules

.PHONY: all build ruche deps test-deps demo-deps demo test test-short lint bench fuzz clean

all: build

ruche: $(BIN)/ruche
$(BIN)/ruche: $(shell find cmd provision services backup templates -name '*.go' -o -name '*.html' -o -name '*.sql' -o -name '*.css' 2>/dev/null) go.mod go.sum
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ ./cmd/ruche

# Static binaries for both architectures the box runs on.
build:
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ruche-linux-amd64 ./cmd/ruche
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ruche-linux-arm64 ./cmd/ruche

# apt-get only what is missing; never start services on a host whose PID 1
# is not systemd (policy-rc.d).
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "run as root to install:$$missing" >&2; exit 1; fi; \
		[ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deps:
	@command -v $(GO) >/dev/null || { echo "Go 1.26 is needed at /usr/local/go" >&2; exit 1; }
	$(GO) mod download

test-deps: deps $(BIN)/restic $(BIN)/rest-server
	$(call apt_install,$(TEST_PACKAGES))

# restic and rest-server (the rest: target's tests), pinned in the tools
# module tools/restic (go.mod, go.sum): Debian's restic is 0.14, whose exit
# codes and JSON errors are not the ones backup/ reads. A box runs the same
# build as /usr/lib/ruche/restic; tests find bin/restic, or RUCHE_RESTIC.
RESTIC_TOOLS := tools/restic/go.mod tools/restic/go.sum
$(BIN)/restic: $(RESTIC_TOOLS)
	cd tools/restic && CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(abspath $@) github.com/restic/restic/cmd/restic
$(BIN)/rest-server: $(RESTIC_TOOLS)
	cd tools/restic && CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(abspath $@) github.com/restic/rest-server/cmd/rest-server

demo-deps: deps
	$(call apt_install,$(DEMO_PACKAGES))

# The box on docs/examples/demo.yaml under .demo, in the foreground.
demo: demo-deps $(BIN)/ruche
	@mkdir -p .demo/etc/ruche/secrets && chmod 700 .demo/etc/ruche/secrets
	@for s in restic smtp-relay; do f=.demo/etc/ruche/secrets/$$s; \
		[ -s $$f ] || (umask 077; head -c 24 /dev/urandom | base64 > $$f); done
	$(BIN)/ruche up docs/examples/demo.yaml --root .demo

test: test-deps lint
	$(GO) test -count=1 -timeout 25m ./...

test-short: deps
	$(GO) test -short -count=1 ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Benchmarks; the table goes to docs/benchmarks.md.
# The apply benchmarks run twice: on the disk (TMPDIR as it is) and on
# tmpfs (/dev/shm), where only Ruche's own work is timed. `cp -r` of the
# same tree, in the same run, is the plain-tool baseline.
BENCH_APPLY := $(GO) test -run '^$$' -bench 'Apply500|Copy500' -benchmem -count 5 ./provision/
# The web server: `ruche up` (Caddy embedded) against Debian's caddy 2.6 and
# plain Caddy of ruche's own version, serving the same rendered files with
# the same JSON config; each server pinned to CPU 0, wrk to CPU 1; 5 runs
# each, medians; memory with 10 and 500 sites. Sections web-throughput and
# web-memory; all figures and wrk's output also go to bin/bench-web.txt.
BENCH_WEB_FLAGS := -ruche $(BIN)/ruche -raw $(BIN)/bench-web.txt
# The wiki (cmd/benchwiki): php-fpm's memory (PSS) idle, during 300 views
# of the start page and once its workers stopped, and how long the wiki is
# gone when php-fpm's master is killed. Section wiki.
BENCH_WIKI_FLAGS := -ruche $(BIN)/ruche
# The panel (cmd/benchpanel): dashboard and ticket list p50/p99 under 50
# sessions at once (50 × 40 requests), memory of `ruche up` with 1,000
# tickets. Section panel.
BENCH_PACKAGES := caddy wrk strace dokuwiki php8.2-fpm
bench: deps $(BIN)/ruche $(BIN)/restic
	$(call apt_install,$(BENCH_PACKAGES))
	@mkdir -p $(BIN)
	$(BENCH_APPLY) | tee $(BIN)/bench-apply-disk.txt
	$(GO) run ./cmd/benchdoc -in $(BIN)/bench-apply-disk.txt -section apply-disk \
		-title "Apply of a 500-site pack, on the disk" \
		-command "make bench   (go test -run '^\$$' -bench 'Apply500|Copy500' -benchmem -count 5 ./provision/)" \
		-ratio BenchmarkApply500FromScratch/BenchmarkCopy500Tree \
		-note "FromScratch: first apply on an empty root (render, plan, 2,000 files and 1,000 folders written atomically, revision, database). NoOp: the same pack again, 0 changes. Copy500Tree: cp -r of the tree apply writes, the floor any tool pays on this disk."
	TMPDIR=/dev/shm $(BENCH_APPLY) | tee $(BIN)/bench-apply-tmpfs.txt
	$(GO) run ./cmd/benchdoc -in $(BIN)/bench-apply-tmpfs.txt -section apply-tmpfs \
		-title "Apply of a 500-site pack, on tmpfs (Ruche's own cost)" \
		-command "make bench   (TMPDIR=/dev/shm go test -run '^\$$' -bench 'Apply500|Copy500' -benchmem -count 5 ./provision/)" \
		-ratio BenchmarkApply500FromScratch/BenchmarkCopy500Tree
	$(GO) run ./cmd/benchweb $(BENCH_WEB_FLAGS) -command "make bench   (go run ./cmd/benchweb $(BENCH_WEB_FLAGS))"
	$(GO) run ./cmd/benchwiki $(BENCH_WIKI_FLAGS) -command "make bench   (go run ./cmd/benchwiki $(BENCH_WIKI_FLAGS))"
	$(GO) run ./cmd/benchbackup -ruche $(BIN)/ruche -restic $(BIN)/restic -command "make bench   (go run ./cmd/benchbackup -ruche $(BIN)/ruche -restic $(BIN)/restic)"
	$(GO) run ./cmd/benchpanel -ruche $(BIN)/ruche -command "make bench   (go run ./cmd/benchpanel -ruche $(BIN)/ruche)"

FUZZTIME ?= 10m
fuzz: deps
	$(GO) test ./provision -run '^$$' -fuzz FuzzLoad -fuzztime $(FUZZTIME)

clean:
	rm -rf $(BIN) .demo
