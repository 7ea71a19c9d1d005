# lowpanbr — userspace 6LoWPAN border router.
GO      ?= go
BIN     := bin
PKG     := ./cmd/lowpanbr
LDFLAGS := -s -w
FUZZTIME ?= 10s

.PHONY: all build test bench fuzz lint cross clean

all: build

build:
	$(GO) build -o $(BIN)/lowpanbr $(PKG)

# The command README gives and CI runs.
test:
	$(GO) test -race -count=1 ./...

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

# A short run of every fuzz target (go test -fuzz takes one target per run).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$t"; \
	    $(GO) test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) $$pkg; \
	  done; \
	done

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Static binaries for a Raspberry Pi (arm64 and 32-bit arm/v7) and x86-64.
cross:
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/lowpanbr-linux-amd64 $(PKG)
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/lowpanbr-linux-arm64 $(PKG)
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/lowpanbr-linux-armv7 $(PKG)

clean:
	rm -rf $(BIN)
