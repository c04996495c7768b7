# Tier 1: cmocka unit tests, no KVM needed (included by tests/tests.mk).
#
#   make unit    build build/unit/test_* and run them all under ASan/UBSan
#
# Every tests/unit/test_X.c is one program, build/unit/test_X.  The vmm
# sources (all but main.c) and the jailer's (all but jailer/main.c) are
# compiled again with sanitizers into build/unit/obj/ and archived, so each
# test links only what it uses.
# A test's output goes to build/unit/test_X.log; on success only cmocka's
# summary lines are shown, on failure the log without the vmm's own log
# lines (the loaders log every image they refuse; see the .log file).

UNIT_DIR      := $(BUILD)/unit
UNIT_SRCS     := $(wildcard tests/unit/test_*.c)
UNIT_BINS     := $(UNIT_SRCS:tests/unit/%.c=$(UNIT_DIR)/%)
UNIT_TEST_OBJS := $(UNIT_SRCS:%.c=$(UNIT_DIR)/obj/%.o)
UNIT_LIB_OBJS := $(LIB_OBJS:$(BUILD)/%.o=$(UNIT_DIR)/obj/%.o) \
		 $(JAILER_LIB_OBJS:$(BUILD)/%.o=$(UNIT_DIR)/obj/%.o)
UNIT_LIB      := $(UNIT_DIR)/libember-san.a
UNIT_SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -g -O1
UNIT_CFLAGS    = $(CFLAGS) $(UNIT_SAN) -Itests/unit $(shell pkg-config --cflags cmocka jansson)
# cmocka, plus whatever libraries the vmm itself links (top-level LDLIBS).
UNIT_LDLIBS    = $(shell pkg-config --libs cmocka jansson) $(LDLIBS)
UNIT_VMM_LOG_LINE := ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z \[
UNIT_ENV      := ASAN_OPTIONS=detect_leaks=1 \
		 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

$(UNIT_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(UNIT_CFLAGS) -c $< -o $@

$(UNIT_LIB): $(UNIT_LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(UNIT_BINS): $(UNIT_DIR)/%: $(UNIT_DIR)/obj/tests/unit/%.o $(UNIT_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(UNIT_SAN) $(LDFLAGS) -o $@ $< $(UNIT_LIB) $(UNIT_LDLIBS)

unit: $(UNIT_BINS)
	@status=0; \
	for t in $(UNIT_BINS); do \
		echo "  UNIT    $$t"; \
		if $(UNIT_ENV) $$t >$$t.log 2>&1; then \
			grep -E '^\[  (PASSED|FAILED|SKIPPED) *\]' $$t.log; \
		else \
			grep -Ev "$(UNIT_VMM_LOG_LINE)" $$t.log; \
			echo "  UNIT    $$t FAILED (log: $$t.log)"; \
			status=1; \
		fi; \
	done; \
	exit $$status

-include $(UNIT_TEST_OBJS:.o=.d) $(UNIT_LIB_OBJS:.o=.d)
