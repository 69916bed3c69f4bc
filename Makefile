# squib: top-level entry points. `make` builds build/squib; `make demo`; `make test`.
BUILD ?= build

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD)

deps:
	./scripts/install-deps.sh

demo: deps all
	./scripts/demo.sh

test: deps
	./scripts/test.sh

clean:
	rm -rf $(BUILD) build-asan build-fuzz

.PHONY: all deps demo test clean
