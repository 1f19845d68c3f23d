# lessons/labs/kernel.mk - build a lab's kernel.elf from its kernel.c against
# ringside's guest library (samples/lib, built by `make samples` in the
# ringside tree). A lab's Makefile is one line: include this file.
# `ringside lab check` passes RINGSIDE_SRC; by hand: make RINGSIDE_SRC=~/ringside

ifeq ($(RINGSIDE_SRC),)
$(error set RINGSIDE_SRC to the ringside source tree, e.g. make RINGSIDE_SRC=$$HOME/ringside)
endif

LAB_LIB    := $(RINGSIDE_SRC)/build/samples/lib
LAB_OBJS   := $(addprefix $(LAB_LIB)/,boot.o trapasm.o console.o string.o desc.o trap.o pic.o user.o)
LAB_CFLAGS := -m32 -march=i686 -O2 -std=gnu11 -ffreestanding -fno-pic -fno-pie \
              -fno-stack-protector -mgeneral-regs-only -nostdlib -fno-asynchronous-unwind-tables \
              -fcf-protection=none -Wall -Wextra -Wno-unused-parameter -I$(RINGSIDE_SRC)/samples/lib

kernel.elf: kernel.o $(LAB_OBJS)
	ld -m elf_i386 -nostdlib -T $(RINGSIDE_SRC)/samples/lib/link.ld -o $@ $(LAB_OBJS) kernel.o \
	    $(shell gcc -m32 -print-libgcc-file-name)

kernel.o: kernel.c
	gcc $(LAB_CFLAGS) -c $< -o $@

clean:
	rm -f kernel.o kernel.elf
