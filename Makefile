# ringside - build, run, test.
#
# Plain GNU Make with explicit object lists. Two builds of the same sources:
#   build/      -O2, what `make` and `make run` use, leaves ./ringside
#   build/san/  -O1 with AddressSanitizer and UBSan, what `make test` uses
# Guest kernels (samples/) are built with the host gcc in 32-bit freestanding
# mode into samples/bin/.

CC       ?= gcc
WARN     := -Wall -Wextra -Wno-unused-parameter
CFLAGS   ?= -O2 -g
CPPFLAGS := -Isim -Iui -Itraces -MMD -MP
SANFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LIBS     := -lcapstone -lncurses -lz -ljansson
TESTLIBS := -lcunit -lcapstone -lz -ljansson
# Graphviz (trace exports): cgraph builds graphs, gvc lays out and renders.
GV_CFLAGS := $(shell pkg-config --cflags libcgraph libgvc 2>/dev/null)
GV_LIBS   := $(shell pkg-config --libs libcgraph libgvc 2>/dev/null || echo -lgvc -lcgraph -lcdt) -lm

SIM_CPU := sim/cpu/optable.o sim/cpu/decode.o sim/cpu/exec.o sim/cpu/icache.o sim/cpu/block.o sim/cpu/forms.o sim/cpu/flags.o \
           sim/cpu/operand.o sim/cpu/ops_alu.o sim/cpu/ops_data.o sim/cpu/ops_ctrl.o \
           sim/cpu/ops_string.o sim/cpu/ops_misc.o \
           sim/cpu/mem.o sim/cpu/paging.o sim/cpu/seg.o sim/cpu/dirtylog.o sim/cpu/intr.o sim/cpu/ops_system.o sim/cpu/ops_far.o sim/cpu/task.o \
           sim/cpu/vmx.o sim/cpu/vmx_entry.o sim/cpu/vmx_ept.o
SIM_HW  := sim/hw/bus.o sim/hw/uart.o sim/hw/pic.o sim/hw/pit.o sim/hw/debugexit.o \
           sim/hw/post.o sim/hw/elf.o sim/hw/multiboot.o sim/hw/hostfile.o \
           sim/hw/firmware.o sim/hw/lapic.o sim/hw/ioapic.o sim/hw/ide.o sim/hw/vgacrt.o \
           sim/hw/cmos.o sim/hw/sysctl.o sim/hw/kbc.o sim/hw/kbd_keys.o sim/hw/fwcfg.o
SIM_TOP := sim/machine.o sim/vm.o sim/snapfile.o sim/snapcodec.o sim/snapstate.o sim/snapshot.o sim/history.o sim/replayfile.o sim/event.o sim/stats.o
SIM_MEM := sim/mem/frames.o sim/mem/pmap.o sim/mem/share.o
SIM_VMM := sim/vmm/cost.o sim/vmm/guest_phys.o sim/vmm/vmm.o sim/vmm/vmm_state.o sim/vmm/monitor.o sim/vmm/reflect.o sim/vmm/shadow.o \
           sim/vmm/emulate.o sim/vmm/emulate_seg.o sim/vmm/emulate_task.o sim/vmm/shadow_pt.o sim/vmm/shadow_pt_fault.o
SIM_BT  := sim/vmm/bt/translate.o sim/vmm/bt/emit_seq.o sim/vmm/bt/tcache.o sim/vmm/bt/tc_plugin.o sim/vmm/bt/bt_run.o \
           sim/vmm/bt/bt_emu.o sim/vmm/bt/bt_info.o
SIM_VT  := sim/vmm/hw/hw_run.o sim/vmm/hw/hw_exit.o
SIM_HOST := sim/host/host.o sim/host/control.o sim/host/ctlsock.o sim/host/ctlclient.o sim/host/b64.o \
            sim/host/migrate.o sim/host/miglink.o sim/host/control_migrate.o
SIM_OBJS := $(SIM_CPU) $(SIM_HW) $(SIM_MEM) $(SIM_VMM) $(SIM_BT) $(SIM_VT) $(SIM_TOP) $(SIM_HOST)

# traces/: trace file format, recorder, exporters (docs/traces.md)
TRACE_OBJS := traces/trace_file.o traces/trace_rec.o traces/trace_run.o traces/gmap.o \
              traces/export_text.o traces/export_chrome.o traces/export_graph.o \
              traces/export_blocks.o traces/export_exits.o

UI_OBJS := ui/main.o ui/cmd_run.o ui/run_until.o ui/guest_out.o ui/run_vm.o ui/cmd_compare.o ui/cmd_snapshot.o ui/cmd_host.o ui/host_args.o ui/host_config.o ui/cmd_ctl.o ui/ctl_migrate.o ui/cmd_migrate.o ui/gdbstub.o ui/run_record.o ui/options.o ui/report.o ui/cmd_tcdump.o ui/cmd_paper.o ui/cmd_trace.o $(TRACE_OBJS) \
           ui/tui_main.o ui/tui_captions.o ui/tui_draw.o ui/tui_session.o ui/tui_view.o ui/tui_view_stats.o ui/tui_view_hw.o ui/tui_view_dev.o ui/tui_view_host.o ui/tui_host.o ui/tui_host_keys.o ui/tui_mig.o ui/tui_mig_main.o ui/tui_view_mig.o \
           ui/cmd_lesson.o ui/cmd_lab.o ui/lesson_parse.o ui/lesson_expr.o ui/lesson_run.o ui/lesson_bg.o ui/lesson_tui.o \
           ui/source_tree.o ui/words.o

TEST_SUITES := tests/test_main.o tests/test_decode.o tests/test_alu.o tests/test_exec.o tests/test_machine.o \
               tests/test_cpu_sys.o tests/test_cpu_task.o tests/test_devices.o tests/test_pc.o tests/test_loader.o \
               tests/test_samples.o tests/proc.o tests/test_vmm.o tests/test_shadow.o \
               tests/test_bt.o tests/fuzz_bt.o tests/fuzz_common.o tests/test_vm.o tests/test_compare.o \
               tests/test_snapshot.o tests/test_replay.o tests/test_host.o tests/test_host_mem.o tests/test_control.o tests/test_gdb.o \
               tests/test_isolation.o tests/test_isolation_mem.o tests/test_cpu_fix.o tests/test_vmx.o tests/test_hw.o tests/test_robust.o \
               tests/test_dirtylog.o tests/test_migrate.o tests/test_fastpath.o \
               tests/fuzz_kernel.o tests/fuzz_kernel_gen.o tests/fuzz_kernel_image.o tests/fuzz_kernel_rt.o \
               tests/test_traces.o tests/test_readme.o $(TRACE_OBJS) \
               tests/test_tui.o tests/test_tui_host.o tests/test_tui_mig.o ui/tui_captions.o ui/tui_session.o ui/run_vm.o ui/tui_view.o ui/tui_view_stats.o ui/tui_view_hw.o ui/tui_view_dev.o ui/tui_view_host.o ui/tui_host.o ui/host_args.o ui/host_config.o ui/options.o \
               tests/test_lesson.o tests/tmux.o ui/lesson_parse.o ui/lesson_expr.o ui/lesson_run.o ui/lesson_bg.o ui/source_tree.o ui/words.o
TEST_HELPERS := tests/alu_ref.o

SAMPLES := hello compute rings sensitive exceptions paging smc

B  := build
BS := build/san

.PHONY: all run test test-build deps samples bench fuzz clean golden check-deps
all: ringside samples

# ---- dependencies -------------------------------------------------------
check-deps:
	@sh scripts/deps.sh

deps:
	@sh scripts/deps.sh

# ---- the program --------------------------------------------------------
$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(CPPFLAGS) -c $< -o $@

$(BS)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(SANFLAGS) $(WARN) $(CPPFLAGS) -c $< -o $@

# 32-bit guest code assembled into the test binary (the kernel fuzzer's runtime).
$(BS)/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests -c $< -o $@

$(B)/traces/%.o $(BS)/traces/%.o: CPPFLAGS += $(GV_CFLAGS)

$(B)/libringside.a: $(addprefix $(B)/,$(SIM_OBJS))
	ar rcs $@ $^

$(BS)/libringside.a: $(addprefix $(BS)/,$(SIM_OBJS))
	ar rcs $@ $^

ringside: $(addprefix $(B)/,$(UI_OBJS)) $(B)/libringside.a
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS) $(GV_LIBS)

$(BS)/ringside: $(addprefix $(BS)/,$(UI_OBJS)) $(BS)/libringside.a
	$(CC) $(SANFLAGS) -o $@ $^ $(LIBS) $(GV_LIBS)

$(BS)/tests/run_tests: $(addprefix $(BS)/,$(TEST_SUITES)) $(BS)/libringside.a $(B)/tests/alu_ref.o
	$(CC) $(SANFLAGS) -o $@ $^ $(TESTLIBS) $(GV_LIBS)

# The host-CPU reference for ALU tests is plain code: no sanitizers, since
# it runs the real instructions with inline assembly.
$(B)/tests/alu_ref.o: tests/alu_ref.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -g $(WARN) $(CPPFLAGS) -c $< -o $@

# ---- guest kernels -------------------------------------------------------
include samples/samples.mk
include tests/hostile/hostile.mk
include tests/hostile_mem/hostile_mem.mk

# ---- test kernels: one per way a run can end (tests/kernels/endings.S) ----
TEST_KERNELS := tests/bin/end_exit.elf tests/bin/end_triple.elf tests/bin/end_halt.elf \
                tests/bin/end_spin.elf tests/bin/end_chatter.elf tests/bin/end_lines.elf
ending_exit := 1
ending_triple := 2
ending_halt := 3
ending_spin := 4
ending_chatter := 5
ending_lines := 6
tests/bin/end_%.elf: tests/kernels/endings.S tests/kernels/link.ld
	@mkdir -p tests/bin $(B)/tests
	gcc -m32 -c -DENDING=$(ending_$*) $< -o $(B)/tests/end_$*.o
	ld -m elf_i386 --no-warn-rwx-segments -T tests/kernels/link.ld $(B)/tests/end_$*.o -o $@

# ---- test kernels for the dirty log and migration (tests/kernels/dirty.S) ----
TEST_KERNELS += tests/bin/dirty_patch.elf tests/bin/dirty_writer.elf tests/bin/dirty_migrate.elf \
                tests/bin/dirty_idle.elf
dirty_patch := -DDIRTY=1
dirty_writer := -DDIRTY=2 -DNPAGES=64 -DPASSES=8
dirty_migrate := -DDIRTY=2 -DNPAGES=16 -DPASSES=12 -DDELAY=120000
dirty_idle := -DDIRTY=3 -DTICKS=16
dirty_heavy := -DDIRTY=2 -DNPAGES=256 -DPASSES=150    # make bench: rewrites 256 pages nonstop
tests/bin/dirty_%.elf: tests/kernels/dirty.S tests/kernels/link.ld
	@mkdir -p tests/bin $(B)/tests
	gcc -m32 -c $(dirty_$*) $< -o $(B)/tests/dirty_$*.o
	ld -m elf_i386 --no-warn-rwx-segments -T tests/kernels/link.ld $(B)/tests/dirty_$*.o -o $@

# ---- entry points --------------------------------------------------------
# Each entry point installs the packages first and only then builds, in a
# second make: the Graphviz flags above come from pkg-config when a Makefile
# is read, so on a fresh machine they must be read after libgraphviz-dev is
# there (a single make would read them empty and fail at cgraph.h).
SUBMAKE = $(MAKE) --no-print-directory

run: check-deps
	@$(SUBMAKE) ringside samples
	./ringside

test: check-deps
	@$(SUBMAKE) test-build
	RINGSIDE=$(BS)/ringside ASAN_OPTIONS=detect_leaks=1 sh scripts/run-tests.sh $(BS)/tests/run_tests

test-build: samples hostile hostile-mem $(TEST_KERNELS) $(BS)/ringside $(BS)/tests/run_tests

bench: check-deps $(B)/bench_replay
	@$(SUBMAKE) ringside samples tests/bin/dirty_idle.elf tests/bin/dirty_migrate.elf tests/bin/dirty_heavy.elf
	bash scripts/bench.sh

$(B)/bench_replay: scripts/bench_replay.c $(B)/libringside.a
	$(CC) $(CFLAGS) $(CPPFLAGS) -o $@ $< $(B)/libringside.a $(LIBS) -lm

# More of the differential fuzzers than `make test` runs (docs/fuzzing.md):
# the BT sequence fuzzer (BT_FUZZ_N=N) and the kernel fuzzer with every
# generator feature on, including those that wait for fixes (KFUZZ_N=N,
# KFUZZ_FEATURES=..., KFUZZ_QEMU_N cases against QEMU).
fuzz: check-deps
	@$(SUBMAKE) samples $(BS)/tests/run_tests $(BS)/ringside
	BT_FUZZ_N=$${BT_FUZZ_N:-200000} ASAN_OPTIONS=detect_leaks=1 $(BS)/tests/run_tests bt_fuzz
	KFUZZ_N=$${KFUZZ_N:-1000000} KFUZZ_FEATURES=$${KFUZZ_FEATURES:-all} \
	    KFUZZ_QEMU_N=$${KFUZZ_QEMU_N:-50} RINGSIDE=$(BS)/ringside ASAN_OPTIONS=detect_leaks=1 \
	    $(BS)/tests/run_tests kernel_fuzz
	@$(SUBMAKE) fuzz-lib

# ---- libFuzzer targets (docs/fuzzing.md, "libFuzzer targets") ----------
# fuzz/fuzz_NAME.c built with clang, ASan and UBSan against the same sources
# (objects in build/fuzz/), each run for FUZZ_SECONDS on a working corpus in
# build/fuzz/corpus/NAME seeded from fuzz/corpus/NAME (committed, hand-made)
# and build/fuzz/seeds/NAME (made here from samples/bin and tests/bin).
# Needs clang: `sh scripts/deps.sh fuzz`; nothing else in make does.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_NAMES   := decode loader trace costs lesson snapshot control
FZ           := build/fuzz
FUZZ_CFLAGS  := -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
FUZZ_BINS    := $(addprefix $(FZ)/fuzz_,$(FUZZ_NAMES))

$(FZ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(WARN) $(CPPFLAGS) -c $< -o $@

$(FZ)/fuzz_trace: $(FZ)/traces/trace_file.o
$(FZ)/fuzz_lesson: $(FZ)/ui/lesson_parse.o $(FZ)/ui/lesson_expr.o
$(FZ)/fuzz_%: $(FZ)/fuzz/fuzz_%.o $(addprefix $(FZ)/,$(SIM_OBJS))
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ -lcapstone -ljansson -lz

# Seeds from build outputs (never committed): the sample and test kernels
# (debug info stripped), their .text in 16-byte pieces behind a D=1 byte,
# and traces of two short runs.
$(FZ)/seeds.stamp: samples $(TEST_KERNELS) ringside
	@rm -rf $(FZ)/seeds && mkdir -p $(addprefix $(FZ)/seeds/,$(FUZZ_NAMES))
	for k in samples/bin/*.elf $(TEST_KERNELS); do \
	    n=$$(basename $$k .elf); \
	    strip --strip-debug -o $(FZ)/seeds/loader/$$n.elf $$k; \
	    objcopy -O binary --only-section=.text $$k $(FZ)/seeds/$$n.text; \
	    split -b 16 -a 4 $(FZ)/seeds/$$n.text $(FZ)/seeds/$$n.piece.; \
	    for p in $$(ls $(FZ)/seeds/$$n.piece.* | head -64); do \
	        { printf '\001'; cat $$p; } > $(FZ)/seeds/decode/$$n.$${p##*.}; done; \
	    rm -f $(FZ)/seeds/$$n.text $(FZ)/seeds/$$n.piece.*; \
	done
	./ringside run --trace $(FZ)/seeds/trace/hello.rtrace samples/bin/hello.elf > /dev/null || true
	./ringside run --mode trap --max-insns 3000 --trace $(FZ)/seeds/trace/rings.rtrace \
	    samples/bin/rings.elf > /dev/null || true
	cp docs/costs.md $(FZ)/seeds/costs/
	for m in native trap bt; do for n in 500 2000; do \
	    ./ringside run --mode $$m --mem 4 --snapshot-at $$n $(FZ)/seeds/snapshot/hello-$$m-$$n.snap \
	        samples/bin/hello.elf > /dev/null || true; done; done
	@touch $@

.PHONY: fuzz-lib fuzz-lib-build
fuzz-lib-build: $(FUZZ_BINS) $(FZ)/seeds.stamp

# Each target for FUZZ_SECONDS; a crash stops make with the input saved as
# build/fuzz/crash-NAME-* (replay: build/fuzz/fuzz_NAME FILE).
fuzz-lib:
	@sh scripts/deps.sh fuzz
	@$(SUBMAKE) fuzz-lib-build
	@for n in $(FUZZ_NAMES); do \
	    mkdir -p $(FZ)/corpus/$$n; \
	    echo "fuzz-lib: $$n for $(FUZZ_SECONDS) s"; \
	    $(FZ)/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -print_final_stats=1 \
	        -artifact_prefix=$(FZ)/crash-$$n- $(FZ)/corpus/$$n fuzz/corpus/$$n \
	        $(FZ)/seeds/$$n 2> $(FZ)/fuzz_$$n.log || { tail -40 $(FZ)/fuzz_$$n.log; exit 1; }; \
	    grep -E '^#[0-9]+.*DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added|stat::peak_rss' \
	        $(FZ)/fuzz_$$n.log | tr '\n' ' '; echo; \
	done

# Example pictures for docs/traces.md: rings.elf traced (under bt when that
# engine exists, else trap), each graph rendered to docs/img/*.svg (not
# committed: they are regenerated), and the Perfetto JSON in build/docs/.
.PHONY: docs
docs: check-deps
	@$(SUBMAKE) ringside samples
	@mkdir -p $(B)/docs docs/img
	mode=bt; ./ringside run --mode bt --help > /dev/null 2>&1 || mode=trap; \
	./ringside run --mode $$mode --trace $(B)/docs/rings.rtrace samples/bin/rings.elf > /dev/null; \
	for g in blocks functions rings traps; do \
	    ./ringside trace export --format svg --graph $$g $(B)/docs/rings.rtrace \
	        -o docs/img/$$g.svg || exit 1; done; \
	./ringside trace export --format chrome $(B)/docs/rings.rtrace -o $(B)/docs/rings.json
	@echo "docs/img/{blocks,functions,rings,traps}.svg and $(B)/docs/rings.json written"

clean:
	rm -rf $(B) ringside samples/bin tests/bin

-include $(shell find $(B) -name '*.d' 2>/dev/null)
