# Thin front door over CMake/Ninja. `make` builds build/cicada; `make run` and `make test` are the
# README's quick start: both install missing Debian packages first (scripts/deps.sh); `make run`
# also fetches a whisper model when none is installed (scripts/first-model.sh).
BUILD ?= build
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo
# ctest's slots: one per core. Integration tests hold two and run one at a time (tests/integration).
CTEST_JOBS ?= $(shell nproc 2>/dev/null || echo 1)

.PHONY: all build deps run test asan clean bench

all: build

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

build: $(BUILD)/build.ninja
	cmake --build $(BUILD)

deps:
	./scripts/deps.sh

run: deps
	$(MAKE) build
	./scripts/first-model.sh ./$(BUILD)/cicada
	./$(BUILD)/cicada serve

test: deps
	$(MAKE) build
	cd $(BUILD) && ctest --output-on-failure -j$(CTEST_JOBS) $(CTEST_ARGS)

# Whole suite under AddressSanitizer + UndefinedBehaviorSanitizer in its own build tree.
asan: deps
	$(MAKE) BUILD=build-asan CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=Debug -DCICADA_SANITIZE=ON" test

clean:
	rm -rf $(BUILD) build-asan
