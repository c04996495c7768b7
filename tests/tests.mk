# Test, demo and benchmark rules (included by the top-level Makefile).

# ---- tier 2: tiny guests -------------------------------------------------
GUEST_SRCS   := $(wildcard tests/guests/tiny/*.c)
GUEST_ELFS   := $(GUEST_SRCS:tests/guests/tiny/%.c=$(BUILD)/guests/%.elf)
GUEST_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -O2 -ffreestanding -fno-pic -no-pie \
		-nostdlib -static -mno-red-zone -mgeneral-regs-only -fno-stack-protector \
		-fcf-protection=none -Wl,-T,tests/guests/tiny/guest.ld -Wl,--build-id=none \
		-Wl,-z,noexecstack

$(BUILD)/guests/%.elf: tests/guests/tiny/%.c tests/guests/tiny/guest.h tests/guests/tiny/guest.ld
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GUEST   $@")
	$(Q)$(CC) $(GUEST_CFLAGS) -o $@ $<

$(BUILD)/guests/pvh.elf: tests/guests/pvh/pvh.S tests/guests/pvh/pvh.ld
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GUEST   $@")
	$(Q)$(CC) -nostdlib -static -no-pie -Wl,-T,tests/guests/pvh/pvh.ld -Wl,--build-id=none \
		-Wl,-z,noexecstack -o $@ $<

guests: $(GUEST_ELFS) $(BUILD)/guests/pvh.elf

# ---- tier 1: cmocka unit tests (rules in tests/unit/unit.mk) -------------
-include tests/unit/unit.mk

# ---- benchmarks -------------------------------------------------------------
$(BUILD)/startup: tests/bench/startup.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

$(BUILD)/bootwatch: tests/bench/bootwatch.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -O2 -static -Wall -Wextra -Werror -o $@ $<

bench: deps $(BUILD)/ember guests $(BUILD)/startup $(BUILD)/bootwatch
	$(Q)tests/bench/run.sh
