# tests/hostile/hostile.mk - the hostile guest kernels (docs/isolation.md).
# Included by the top-level Makefile; built like the samples (samples.mk)
# with the samples' library plus tests/hostile/hostile.c.
#
#   make hostile         builds tests/bin/hostile/<name>.elf
#   make golden-hostile  runs each under QEMU into tests/golden/hostile/
#                        <name>.out and <name>.status (part of `make golden`)

HOSTILE_ALL := expdown32 expdown16 expup_wrap gdt8192 idtgate gdtrewrite ldt ring3 pagingtop
HOSTILE_OUT := build/hostile
HOSTILE_ELFS := $(foreach k,$(HOSTILE_ALL),tests/bin/hostile/$(k).elf)

.PHONY: hostile golden-hostile

hostile: $(HOSTILE_ELFS)

$(HOSTILE_OUT)/%.o: tests/hostile/%.c tests/hostile/hostile.h
	@mkdir -p $(dir $@)
	$(SAMPLES_CC) $(SAMPLES_CFLAGS) -Itests/hostile -c $< -o $@

tests/bin/hostile/%.elf: $(HOSTILE_OUT)/%.o $(HOSTILE_OUT)/hostile.o $(SAMPLES_LIB_OBJS) samples/lib/link.ld
	@mkdir -p tests/bin/hostile
	$(SAMPLES_LD) $(SAMPLES_LDFLAGS) -o $@ $(SAMPLES_LIB_OBJS) $(HOSTILE_OUT)/hostile.o $< $(SAMPLES_LIBGCC)

HOSTILE_QEMU_CMD = $(SAMPLES_QEMU) -m 32 -kernel tests/bin/hostile/$$k.elf -serial stdio \
                   -display none -device isa-debug-exit,iobase=0xf4,iosize=0x04

golden-hostile: hostile
	@mkdir -p tests/golden/hostile
	@for k in $(HOSTILE_ALL); do \
	    timeout $(SAMPLES_TIMEOUT) $(HOSTILE_QEMU_CMD) </dev/null >tests/golden/hostile/$$k.out; \
	    echo $$? >tests/golden/hostile/$$k.status; \
	    echo "golden: hostile/$$k -> status $$(cat tests/golden/hostile/$$k.status)"; \
	done
golden: golden-hostile
