# tests/hostile_mem/hostile_mem.mk - the hostile memory kernels (issue 11):
# built like the samples (samples/samples.mk: same flags, library, link
# script) into tests/bin/hostile_mem/, with QEMU goldens in
# tests/golden/hostile_mem/. Included by the top-level Makefile.
#
#   make hostile-mem          build every kernel below
#   make golden-hostile-mem   re-run each under QEMU and rewrite NAME.out
#                             (COM1) and NAME.status; goldens come from QEMU,
#                             never from ringside
#
# hm_noprog (a #UD handler that is itself UD2: nothing ever retires) has no
# golden: QEMU spins on it forever; the suite checks ringside's watchdog.
# hm_farpt reads a PTE from unassigned memory, all ones natively but zero
# under QEMU: the engines are compared with native only.

HM_KERNELS := hm_int14 hm_beyond hm_pgoff hm_vmmframes hm_lowmem hm_clitimer hm_sysenter
HM_NOGOLDEN := hm_noprog hm_farpt
HM_OUT := $(SAMPLES_OUT)/hostile_mem
HM_ELFS := $(foreach k,$(HM_KERNELS) $(HM_NOGOLDEN),tests/bin/hostile_mem/$(k).elf)

.PHONY: hostile-mem golden-hostile-mem

hostile-mem: $(HM_ELFS)

$(HM_OUT)/%.o: tests/hostile_mem/%.c tests/hostile_mem/hm.h
	@mkdir -p $(dir $@)
	$(SAMPLES_CC) $(SAMPLES_CFLAGS) -Itests/hostile_mem -c $< -o $@

tests/bin/hostile_mem/%.elf: $(HM_OUT)/%.o $(HM_OUT)/hm.o $(SAMPLES_LIB_OBJS) samples/lib/link.ld
	@mkdir -p tests/bin/hostile_mem
	$(SAMPLES_LD) $(SAMPLES_LDFLAGS) -o $@ $(SAMPLES_LIB_OBJS) $(HM_OUT)/hm.o $< $(SAMPLES_LIBGCC)

golden-hostile-mem: $(HM_ELFS)
	@mkdir -p tests/golden/hostile_mem
	@for k in $(HM_KERNELS); do \
	    timeout $(SAMPLES_TIMEOUT) $(SAMPLES_QEMU) -m 32 -kernel tests/bin/hostile_mem/$$k.elf \
	        -serial stdio -display none -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	        </dev/null >tests/golden/hostile_mem/$$k.out; \
	    echo $$? >tests/golden/hostile_mem/$$k.status; \
	    echo "golden: $$k -> status $$(cat tests/golden/hostile_mem/$$k.status)"; \
	done
