# Test, demo and benchmark rules (included by the top-level Makefile).

# ---- tier 2: tiny guests -------------------------------------------------
GUEST_SRCS   := $(wildcard tests/guests/tiny/*.c)
GUEST_ELFS   := $(GUEST_SRCS:tests/guests/tiny/%.c=$(BUILD)/guests/%.elf)
GUEST_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -O2 -ffreestanding -fno-pic -no-pie \
		-nostdlib -static -mno-red-zone -mgeneral-regs-only -fno-stack-protector \
		-fcf-protection=none -Wl,-T,tests/guests/tiny/guest.ld -Wl,--build-id=none \
		-Wl,-z,noexecstack

$(BUILD)/guests/%.elf: tests/guests/tiny/%.c tests/guests/tiny/guest.h tests/guests/tiny/virtio_guest.h \
		       tests/guests/tiny/guest.ld
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GUEST   $@")
	$(Q)$(CC) $(GUEST_CFLAGS) -o $@ $<

$(BUILD)/guests/pvh.elf: tests/guests/pvh/pvh.S tests/guests/pvh/pvh.ld
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GUEST   $@")
	$(Q)$(CC) -nostdlib -static -no-pie -Wl,-T,tests/guests/pvh/pvh.ld -Wl,--build-id=none \
		-Wl,-z,noexecstack -o $@ $<

guests: $(GUEST_ELFS) $(BUILD)/guests/pvh.elf

# ---- xfer: the byte mover of the tier-3 net/vsock scenarios and benchmarks --
$(BUILD)/xfer: tests/guests/xfer/xfer.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@ (static)")
	$(Q)$(CC) -static -O2 -s -std=gnu11 -Wall -Wextra -Werror -o $@ $<

# Its self-test on this host: TCP, unix sockets, the Firecracker handshake
# against a stand-in muxer, malformed handshakes, resets, timeouts.
.PHONY: xfer-test
xfer-test: $(BUILD)/xfer
	$(Q)tests/guests/xfer/selftest.sh $(BUILD)/xfer

# ---- tier 1: cmocka unit tests (rules in tests/unit/unit.mk) -------------
-include tests/unit/unit.mk

# ---- benchmarks -------------------------------------------------------------
$(BUILD)/startup: tests/bench/startup.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

$(BUILD)/bootwatch: tests/bench/bootwatch.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -O2 -static -Wall -Wextra -Werror -o $@ $<

$(BUILD)/apibench: tests/bench/apibench.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

bench: deps
	$(Q)$(MAKE) --no-print-directory $(BUILD)/ember guests $(BUILD)/startup $(BUILD)/bootwatch \
		$(BUILD)/apibench $(BUILD)/xfer $(BUILD)/uffd_handler
	$(Q)tests/bench/run.sh

# ---- ember with the seccomp test hooks --------------------------------------
# Only vmm/core/sandbox.c differs (-DEMBER_TEST_HOOKS): EMBER_TEST_SECCOMP=
# CLASS:CALL makes a thread issue a forbidden call once confined, so tier 2
# can prove every class's filter kills.  Never installed, never in build/ember.
TEST_EMBER := $(BUILD)/test/ember
$(BUILD)/test/sandbox.o: vmm/core/sandbox.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@ (test hooks)")
	$(Q)$(CC) $(CFLAGS) -DEMBER_TEST_HOOKS -c $< -o $@

$(TEST_EMBER): $(filter-out $(BUILD)/vmm/core/sandbox.o,$(VMM_OBJS)) $(BUILD)/test/sandbox.o \
	       $(BUILD)/gen/sandbox_bpf.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -static $(LDFLAGS) -o $@ $^ $(LDLIBS)

-include $(BUILD)/test/sandbox.d

# ---- the suite ------------------------------------------------------------
tier2: $(BUILD)/ember $(TEST_EMBER) guests $(BUILD)/uffd_handler
	$(Q)TEST_EMBER=$(TEST_EMBER) UFFD_HANDLER=$(BUILD)/uffd_handler \
		tests/integration/tier2.sh $(BUILD)/ember $(BUILD)/guests

# The API suite, then the swagger-driven check (tests/api/README.md): every
# path and method of Firecracker's swagger against ember, answers validated
# against its response schemas.  Both under the same lock when run by hand.
api: $(BUILD)/ember guests
	$(Q)tests/integration/api.sh $(BUILD)/ember $(BUILD)/guests
	$(Q)tests/api/swagger_check.py $(BUILD)/ember $(BUILD)/guests

swagger-check: $(BUILD)/ember guests
	$(Q)tests/api/swagger_check.py $(BUILD)/ember $(BUILD)/guests

# ember-jailer: a tiny guest through the jailer, checked from outside; attacks.
jailer: $(BUILD)/ember $(BUILD)/ember-jailer guests $(BUILD)/uffd_handler
	$(Q)UFFD_HANDLER=$(BUILD)/uffd_handler tests/integration/jailer.sh $(BUILD)/ember-jailer $(BUILD)/ember $(BUILD)/guests

# The tier-2 and API suites again against ember built with ASan/UBSan/LSan.
ASAN_EMBER := $(BUILD)/asan/ember
$(ASAN_EMBER): $(VMM_SRCS) $(VMM_HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@ (ASan/UBSan)")
	$(Q)$(CC) $(CFLAGS) $(UNIT_SAN) -o $@ $(VMM_SRCS) $(LDLIBS)

asan: $(ASAN_EMBER) $(TEST_EMBER) guests $(BUILD)/uffd_handler
	$(Q)$(UNIT_ENV) TEST_EMBER=$(TEST_EMBER) UFFD_HANDLER=$(BUILD)/uffd_handler \
		tests/integration/tier2.sh $(ASAN_EMBER) $(BUILD)/guests
	$(Q)$(UNIT_ENV) tests/integration/api.sh $(ASAN_EMBER) $(BUILD)/guests

tier3: $(BUILD)/ember $(BUILD)/ember-jailer $(BUILD)/xfer
	$(Q)XFER=$(CURDIR)/$(BUILD)/xfer tests/integration/tier3.sh

# ---- fuzzing (clang libFuzzer): a short run in make test, longer via make fuzz
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS  := -std=gnu11 -Wall -Wextra -Werror -g -O1 -fsanitize=fuzzer,address,undefined -I.
$(BUILD)/fuzz/fuzz_http: tests/fuzz/fuzz_http.c api-socket/http.c api-socket/http.h vmm/core/log.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_http.c api-socket/http.c vmm/core/log.c \
		-ljansson -lhttp_parser

FUZZ_API_SRCS := tests/fuzz/fuzz_api.c api-socket/router.c api-socket/http.c api-socket/server.c \
		 $(wildcard vmm/config/*.c) vmm/core/json.c vmm/metrics.c vmm/core/event.c vmm/core/log.c \
		 vmm/core/ratelimit.c vmm/core/usock.c vmm/core/sandbox.c vmm/core/thread.c \
		 vmm/x86/cpu_template.c vmm/x86/cpu_static.c
$(BUILD)/fuzz/fuzz_api: $(FUZZ_API_SRCS) $(VMM_HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -o $@ $(FUZZ_API_SRCS) -ljansson -lhttp_parser -lseccomp

FUZZ_VIRTQ_SRCS := tests/fuzz/fuzz_virtq.c virtio/virtq.c vmm/core/memory.c vmm/core/log.c
$(BUILD)/fuzz/fuzz_virtq: $(FUZZ_VIRTQ_SRCS) virtio/virtq.h vmm/core/memory.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -o $@ $(FUZZ_VIRTQ_SRCS) -lpthread

FUZZ_BLK_SRCS := tests/fuzz/fuzz_blk.c virtio/blk/blk.c virtio/blk/blk_io.c virtio/uring.c virtio/mmio.c virtio/virtq.c \
		 vmm/core/memory.c vmm/core/log.c vmm/core/event.c vmm/core/ratelimit.c
$(BUILD)/fuzz/fuzz_blk: $(FUZZ_BLK_SRCS) $(VMM_HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -o $@ $(FUZZ_BLK_SRCS) -l:liburing.a -lpthread

# run-fuzzer NAME SEED_CORPUS [FLAGS]: a bounded run; a crash fails the target.
# Fuzzers run in a scratch directory: fuzz_api's PUT /logger and /metrics
# create the files the input names, relative to the working directory.
FUZZ_CWD := $(CURDIR)/$(BUILD)/fuzz/cwd
FUZZ_DIR := $(CURDIR)/$(BUILD)/fuzz
define run-fuzzer
	@mkdir -p $(BUILD)/fuzz/corpus-$(1) $(FUZZ_CWD)
	$(Q)cd $(FUZZ_CWD) && $(FUZZ_DIR)/fuzz_$(1) -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(3) \
		-artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_DIR)/corpus-$(1) $(if $(2),$(CURDIR)/$(2)) \
		>$(FUZZ_DIR)/$(1).log 2>&1 \
		|| (tail -40 $(FUZZ_DIR)/$(1).log; echo "fuzz: fuzz_$(1) failed"; false)
	@echo "  FUZZ    fuzz_$(1): $$(grep -o 'number_of_executed_units: [0-9]*' $(BUILD)/fuzz/$(1).log) in $(FUZZ_SECONDS) s, no crash"
endef

FUZZ_VSOCK_SRCS := tests/fuzz/fuzz_vsock.c $(wildcard virtio/vsock/*.c) virtio/uring.c \
		   virtio/mmio.c virtio/virtq.c vmm/core/memory.c vmm/core/log.c vmm/core/event.c \
		   vmm/core/usock.c
$(BUILD)/fuzz/fuzz_vsock: $(FUZZ_VSOCK_SRCS) $(VMM_HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -o $@ $(FUZZ_VSOCK_SRCS) -l:liburing.a -lpthread

FUZZ_NET_SRCS := tests/fuzz/fuzz_net.c $(wildcard virtio/net/*.c) virtio/uring.c \
		 virtio/mmio.c virtio/virtq.c vmm/core/memory.c vmm/core/log.c vmm/core/event.c vmm/core/ratelimit.c
$(BUILD)/fuzz/fuzz_net: $(FUZZ_NET_SRCS) $(VMM_HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -o $@ $(FUZZ_NET_SRCS) -l:liburing.a -lpthread

FUZZ_SERIAL_SRCS := tests/fuzz/fuzz_serial.c vmm/devices/serial.c vmm/core/ratelimit.c vmm/core/log.c
$(BUILD)/fuzz/fuzz_serial: $(FUZZ_SERIAL_SRCS) $(VMM_HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -o $@ $(FUZZ_SERIAL_SRCS) -lpthread

FUZZ_SNAPFILE_SRCS := tests/fuzz/fuzz_snapfile.c vmm/snapfile.c vmm/core/memory.c vmm/devices/serial.c \
		      virtio/mmio.c virtio/virtq.c vmm/core/event.c \
		      vmm/devices/i8042.c vmm/core/ratelimit.c vmm/core/log.c
$(BUILD)/fuzz/fuzz_snapfile: $(FUZZ_SNAPFILE_SRCS) $(VMM_HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -o $@ $(FUZZ_SNAPFILE_SRCS) -lpthread

FUZZ_UFFD_MSG_SRCS := tests/fuzz/fuzz_uffd_msg.c vmm/core/uffd_msg.c
$(BUILD)/fuzz/fuzz_uffd_msg: $(FUZZ_UFFD_MSG_SRCS) vmm/core/uffd_msg.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -o $@ $(FUZZ_UFFD_MSG_SRCS) $(shell pkg-config --libs jansson)

# Each fuzzer's libFuzzer flags (its input size); its seed corpus, when it
# has one, is tests/fuzz/corpus-NAME.
FUZZ_FLAGS_virtq  := -max_len=16500
FUZZ_FLAGS_blk    := -max_len=16500
FUZZ_FLAGS_vsock  := -max_len=66000
FUZZ_FLAGS_net    := -max_len=65600
FUZZ_FLAGS_serial := -max_len=4096
FUZZ_FLAGS_snapfile := -max_len=65536
FUZZ_FLAGS_uffd_msg := -max_len=65536
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS  := $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)

fuzz: $(BUILD)/fuzz/fuzz_http $(BUILD)/fuzz/fuzz_api $(BUILD)/fuzz/fuzz_virtq $(BUILD)/fuzz/fuzz_blk \
      $(BUILD)/fuzz/fuzz_vsock $(BUILD)/fuzz/fuzz_net $(BUILD)/fuzz/fuzz_serial \
      $(BUILD)/fuzz/fuzz_snapfile $(BUILD)/fuzz/fuzz_uffd_msg
	$(call run-fuzzer,http,)
	$(call run-fuzzer,api,tests/fuzz/corpus-api)
	$(call run-fuzzer,virtq,tests/fuzz/corpus-virtq,$(FUZZ_FLAGS_virtq))
	$(call run-fuzzer,blk,tests/fuzz/corpus-blk,$(FUZZ_FLAGS_blk))
	$(call run-fuzzer,vsock,tests/fuzz/corpus-vsock,$(FUZZ_FLAGS_vsock))
	$(call run-fuzzer,net,tests/fuzz/corpus-net,$(FUZZ_FLAGS_net))
	$(call run-fuzzer,serial,tests/fuzz/corpus-serial,$(FUZZ_FLAGS_serial))
	$(call run-fuzzer,snapfile,tests/fuzz/corpus-snapfile,$(FUZZ_FLAGS_snapfile))
	$(call run-fuzzer,uffd_msg,tests/fuzz/corpus-uffd_msg,$(FUZZ_FLAGS_uffd_msg))

# fuzz-long: every tests/fuzz/fuzz_*.c, one at a time, until 10 million
# executions or 30 minutes, whichever comes first (3.5 hours at most for
# seven); a line per fuzzer with its executions, time and rate; a crash (or
# any failure) fails the target after the others ran.  Logs in
# build/fuzz/long-NAME.log, crashes in build/fuzz/long-NAME-crash-*; the
# corpus grows in build/fuzz/corpus-NAME as in `make fuzz`.
FUZZ_LONG_RUNS    ?= 10000000
FUZZ_LONG_SECONDS ?= 1800
.PHONY: fuzz-long
fuzz-long: $(FUZZ_BINS)
	$(Q)status=0; for spec in $(foreach n,$(FUZZ_NAMES),$(n):$(FUZZ_FLAGS_$(n))); do \
		name=$${spec%%:*}; flags=$${spec#*:}; corpus=$(CURDIR)/tests/fuzz/corpus-$$name; \
		[ -d $$corpus ] || corpus=; \
		log=$(FUZZ_DIR)/long-$$name.log; mkdir -p $(FUZZ_DIR)/corpus-$$name $(FUZZ_CWD); \
		t0=$$(date +%s); \
		if (cd $(FUZZ_CWD) && $(FUZZ_DIR)/fuzz_$$name -runs=$(FUZZ_LONG_RUNS) \
			-max_total_time=$(FUZZ_LONG_SECONDS) -print_final_stats=1 $$flags \
			-artifact_prefix=$(FUZZ_DIR)/long-$$name- \
			$(FUZZ_DIR)/corpus-$$name $$corpus) >$$log 2>&1; then res="no crash"; \
		else res="FAILED (log: $$log)"; status=1; tail -40 $$log; fi; \
		secs=$$(($$(date +%s) - t0)); \
		runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$log | tail -1); \
		rate=$$(sed -n 's/^stat::average_exec_per_sec: *//p' $$log | tail -1); \
		printf '  FUZZ    fuzz_%-7s %10s executions in %5s s, %7s exec/s: %s\n' \
			$$name "$${runs:-?}" $$secs "$${rate:-?}" "$$res"; \
	done; exit $$status

kernel: deps
	$(Q)kernels/build.sh
	$(Q)kernels/build.sh microvm-legacy

demo: deps
	$(Q)$(MAKE) --no-print-directory $(BUILD)/ember
	$(Q)tests/harness/demo.sh

# Includes point down only (the layer order is written in the script).
layers:
	$(Q)tests/lint/layers.sh

# run-part GOALS: one part in a new make, then how long it took.
define run-part
	$(Q)t0=$$(date +%s); $(MAKE) --no-print-directory $(1) && \
		echo "  TIME    $(firstword $(1)): $$(($$(date +%s) - t0)) s"
endef

# Tiers in order, each only after the one before passed. test-host is every
# tier short of the real Linux guests (tier 3); the fresh-root check runs it.
.PHONY: test-host layers
test-host: deps
	$(call run-part,layers)
	$(call run-part,$(BUILD)/ember $(BUILD)/ember-jailer guests)
	$(call run-part,unit)
	$(call run-part,fuzz FUZZ_SECONDS=10)
	$(call run-part,tier2)
	$(call run-part,api)
	$(call run-part,jailer)
	$(call run-part,asan)

test: test-host
	$(call run-part,tier3)

# The README's commands as a new user runs them, in a minimal Debian 12 root
# (mmdebstrap) holding a clean clone of HEAD: ci = make + test-host; full =
# make demo + make test from scratch (guest kernel, tier 3). See docs/testing.md.
.PHONY: fresh-check fresh-check-full
fresh-check:
	$(Q)tests/harness/fresh-root.sh ci

fresh-check-full:
	$(Q)tests/harness/fresh-root.sh full
