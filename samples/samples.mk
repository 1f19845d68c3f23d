# samples/samples.mk - the guest kernels and their QEMU golden outputs.
# Included by the top-level Makefile.
#
#   make samples   builds samples/bin/<name>.elf for every kernel below
#   make golden    re-runs every kernel under QEMU and rewrites
#                  tests/golden/<name>.out (COM1 output) and <name>.status
#                  (QEMU's exit status). Goldens come from QEMU, never ringside.
#
# Kernels are 32-bit freestanding C plus a little assembly, linked at 1 MiB
# with samples/lib/link.ld, plus libgcc for 64-bit division.

SAMPLES_CC     ?= gcc
SAMPLES_LD     ?= ld
SAMPLES_QEMU   ?= qemu-system-i386
SAMPLES_OUT    := build/samples
SAMPLES_CFLAGS := -m32 -march=i686 -O2 -g -std=gnu11 -ffreestanding -fno-pic -fno-pie \
                  -fno-stack-protector -mgeneral-regs-only -nostdlib \
                  -fno-asynchronous-unwind-tables -fcf-protection=none \
                  -fno-tree-loop-distribute-patterns \
                  -Wall -Wextra -Wno-unused-parameter -Isamples/lib -MMD -MP
SAMPLES_ASFLAGS := -m32 -Isamples/lib -MMD -MP
SAMPLES_LDFLAGS := -m elf_i386 -nostdlib -T samples/lib/link.ld
SAMPLES_LIBGCC := $(shell $(SAMPLES_CC) -m32 -print-libgcc-file-name)
SAMPLES_TIMEOUT ?= 20

# Every kernel is samples/<name>/<name>.c; demo is the one ./ringside runs
# with no arguments.
SAMPLES_ALL := hello compute rings sensitive exceptions paging smc demo lecture writer mptable lapic apicmap memfill hypercall rtc taskswitch fwcfg
# Kernels built like the samples but without a QEMU golden (they print
# cycle counts): the Adams & Agesen nanobenchmarks (`ringside paper`).
SAMPLES_BENCH := nanobench
# Kernels that read COM1: their golden is QEMU fed tests/golden/<name>.in on
# its serial (the record/replay tests feed ringside the same bytes).
SAMPLES_INPUT := echo
# Kernels that read the keyboard: QEMU types tests/golden/<name>.sendkey
# through its monitor; ringside types <name>.in with --keyboard.
SAMPLES_KEYS := kbd
# Kernels that drive a disk: their golden is QEMU with a blank 64 KiB image as
# the primary master (writes kept in memory: snapshot=on; ringside: --disk
# without --disk-write).
SAMPLES_DISK := ide
SAMPLES_DISK_IMG := build/samples/blank64k.img

SAMPLES_LIB_C := samples/lib/console.c samples/lib/string.c samples/lib/desc.c \
                 samples/lib/trap.c samples/lib/pic.c samples/lib/user.c
SAMPLES_LIB_S := samples/lib/boot.S samples/lib/trapasm.S
SAMPLES_LIB_OBJS := $(patsubst samples/%.c,$(SAMPLES_OUT)/%.o,$(SAMPLES_LIB_C)) \
                    $(patsubst samples/%.S,$(SAMPLES_OUT)/%.o,$(SAMPLES_LIB_S))
SAMPLES_WITH_LIB := $(SAMPLES_ALL) $(SAMPLES_BENCH) $(SAMPLES_INPUT) $(SAMPLES_DISK) $(SAMPLES_KEYS)
SAMPLES_KOBJS := $(foreach k,$(SAMPLES_WITH_LIB),$(SAMPLES_OUT)/$(k)/$(k).o)
SAMPLES_ELFS  := $(foreach k,$(SAMPLES_WITH_LIB),samples/bin/$(k).elf)

.PHONY: samples golden golden-check

samples: $(SAMPLES_ELFS) $(SAMPLES_DISK_IMG)

$(SAMPLES_DISK_IMG):
	@mkdir -p $(dir $@)
	head -c 65536 /dev/zero > $@

$(patsubst samples/%.c,$(SAMPLES_OUT)/%.o,$(SAMPLES_LIB_C)) $(SAMPLES_KOBJS): $(SAMPLES_OUT)/%.o: samples/%.c
	@mkdir -p $(dir $@)
	$(SAMPLES_CC) $(SAMPLES_CFLAGS) -c $< -o $@

$(patsubst samples/%.S,$(SAMPLES_OUT)/%.o,$(SAMPLES_LIB_S)): $(SAMPLES_OUT)/%.o: samples/%.S
	@mkdir -p $(dir $@)
	$(SAMPLES_CC) $(SAMPLES_ASFLAGS) -c $< -o $@

# One link rule per kernel: its own object, the library, libgcc.
define SAMPLES_LINK_RULE
samples/bin/$(1).elf: $(SAMPLES_OUT)/$(1)/$(1).o $$(SAMPLES_LIB_OBJS) samples/lib/link.ld
	@mkdir -p samples/bin
	$$(SAMPLES_LD) $$(SAMPLES_LDFLAGS) -o $$@ $$(SAMPLES_LIB_OBJS) $(SAMPLES_OUT)/$(1)/$(1).o $$(SAMPLES_LIBGCC)
endef
$(foreach k,$(SAMPLES_WITH_LIB),$(eval $(call SAMPLES_LINK_RULE,$(k))))

# The exact command the tests compare against: QEMU with 32 MiB, COM1 on
# stdout and the isa-debug-exit device; the exit status is (v << 1) | 1. The
# real-time clock starts where ringside's does (sim/hw/cmos.h).
SAMPLES_QEMU_MACHINE = $(SAMPLES_QEMU) -m 32 -kernel samples/bin/$$k.elf -display none \
                       -parallel none -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
                       -rtc base=2026-01-01T00:00:00
SAMPLES_QEMU_CMD = $(SAMPLES_QEMU_MACHINE) -serial stdio

# A keyboard kernel: QEMU's monitor on stdin types each line of
# tests/golden/<name>.sendkey (`sendkey`), COM1 goes to the file $(1).
SAMPLES_QEMU_KEYS = (sleep 1.5; while read key; do echo "sendkey $$key"; sleep 0.3; \
                     done <tests/golden/$$k.sendkey; sleep 1) | timeout $(SAMPLES_TIMEOUT) \
                    $(SAMPLES_QEMU_MACHINE) -serial file:$(1) -monitor stdio >/dev/null

SAMPLES_QEMU_DISK = -drive file=$(SAMPLES_DISK_IMG),format=raw,if=ide,index=0,snapshot=on

golden: samples
	@mkdir -p tests/golden
	@for k in $(SAMPLES_ALL); do \
	    timeout $(SAMPLES_TIMEOUT) $(SAMPLES_QEMU_CMD) </dev/null >tests/golden/$$k.out; \
	    echo $$? >tests/golden/$$k.status; \
	    echo "golden: $$k -> status $$(cat tests/golden/$$k.status)"; \
	done
	@for k in $(SAMPLES_INPUT); do \
	    timeout $(SAMPLES_TIMEOUT) $(SAMPLES_QEMU_CMD) <tests/golden/$$k.in >tests/golden/$$k.out; \
	    echo $$? >tests/golden/$$k.status; \
	    echo "golden: $$k (input $$k.in) -> status $$(cat tests/golden/$$k.status)"; \
	done
	@for k in $(SAMPLES_DISK); do \
	    timeout $(SAMPLES_TIMEOUT) $(SAMPLES_QEMU_CMD) $(SAMPLES_QEMU_DISK) </dev/null >tests/golden/$$k.out; \
	    echo $$? >tests/golden/$$k.status; \
	    echo "golden: $$k (disk $(SAMPLES_DISK_IMG)) -> status $$(cat tests/golden/$$k.status)"; \
	done
	@for k in $(SAMPLES_KEYS); do \
	    $(call SAMPLES_QEMU_KEYS,tests/golden/$$k.out); \
	    echo $$? >tests/golden/$$k.status; \
	    echo "golden: $$k (keys $$k.sendkey) -> status $$(cat tests/golden/$$k.status)"; \
	done

# Runs every kernel under QEMU again and compares with the checked-in goldens
# (catches a nondeterministic kernel or a stale golden).
golden-check: samples
	@fail=0; for k in $(SAMPLES_ALL); do \
	    timeout $(SAMPLES_TIMEOUT) $(SAMPLES_QEMU_CMD) </dev/null >$(SAMPLES_OUT)/$$k.out; \
	    st=$$?; \
	    if cmp -s $(SAMPLES_OUT)/$$k.out tests/golden/$$k.out && \
	       [ "$$st" = "$$(cat tests/golden/$$k.status)" ]; then echo "ok   $$k"; \
	    else echo "FAIL $$k (status $$st)"; fail=1; fi; \
	done; \
	for k in $(SAMPLES_DISK); do \
	    timeout $(SAMPLES_TIMEOUT) $(SAMPLES_QEMU_CMD) $(SAMPLES_QEMU_DISK) </dev/null >$(SAMPLES_OUT)/$$k.out; \
	    st=$$?; \
	    if cmp -s $(SAMPLES_OUT)/$$k.out tests/golden/$$k.out && \
	       [ "$$st" = "$$(cat tests/golden/$$k.status)" ]; then echo "ok   $$k"; \
	    else echo "FAIL $$k (status $$st)"; fail=1; fi; \
	done; \
	for k in $(SAMPLES_KEYS); do \
	    $(call SAMPLES_QEMU_KEYS,$(SAMPLES_OUT)/$$k.out); \
	    st=$$?; \
	    if cmp -s $(SAMPLES_OUT)/$$k.out tests/golden/$$k.out && \
	       [ "$$st" = "$$(cat tests/golden/$$k.status)" ]; then echo "ok   $$k"; \
	    else echo "FAIL $$k (status $$st)"; fail=1; fi; \
	done; exit $$fail
