/*
 * pic.c - the 8259A interrupt controllers and the 8254 timer.
 *
 * After reset the PICs deliver IRQ 0-7 on vectors 0x08-0x0F, which collide
 * with CPU exceptions (a timer tick would look like a double fault), so
 * every kernel that enables interrupts first re-programs them with the
 * standard ICW1-ICW4 sequence (8259A data sheet; the "remap" every PC
 * kernel does): master on 0x20-0x27, slave on 0x28-0x2F, cascade on IRQ 2,
 * 8086 mode, all lines masked. Kernels then unmask what they need.
 *
 * The PIT's channel 0 drives IRQ 0. pit_set_divisor() puts it in mode 2
 * (rate generator): one IRQ every `div` input clocks of 1.193182 MHz.
 */
#include "kernel.h"

#define PIC1_CMD  0x20
#define PIC1_DATA 0x21
#define PIC2_CMD  0xA0
#define PIC2_DATA 0xA1
#define PIC_EOI   0x20
#define PIT_CH0   0x40
#define PIT_CMD   0x43

void pic_remap(void)
{
    outb(PIC1_CMD, 0x11);   /* ICW1: edge triggered, cascade, ICW4 follows */
    outb(PIC2_CMD, 0x11);
    outb(PIC1_DATA, IRQ_BASE);      /* ICW2: vector base */
    outb(PIC2_DATA, IRQ_BASE + 8);
    outb(PIC1_DATA, 0x04);  /* ICW3: slave on IRQ 2 */
    outb(PIC2_DATA, 0x02);  /* ICW3: slave identity 2 */
    outb(PIC1_DATA, 0x01);  /* ICW4: 8086 mode, normal EOI */
    outb(PIC2_DATA, 0x01);
    outb(PIC1_DATA, 0xFF);  /* OCW1: mask everything */
    outb(PIC2_DATA, 0xFF);
}

static uint16_t pic_data_port(int irq)
{
    return irq < 8 ? PIC1_DATA : PIC2_DATA;
}

void pic_unmask(int irq)
{
    uint16_t port = pic_data_port(irq);
    outb(port, inb(port) & ~(1u << (irq & 7)));
    if (irq >= 8)           /* the slave reaches the CPU through IRQ 2 */
        outb(PIC1_DATA, inb(PIC1_DATA) & ~(1u << 2));
}

void pic_mask(int irq)
{
    uint16_t port = pic_data_port(irq);
    outb(port, inb(port) | (1u << (irq & 7)));
}

void pic_eoi(int irq)
{
    if (irq >= 8)
        outb(PIC2_CMD, PIC_EOI);
    outb(PIC1_CMD, PIC_EOI);
}

void pit_set_divisor(uint16_t div)
{
    outb(PIT_CMD, 0x34);            /* channel 0, lobyte/hibyte, mode 2, binary */
    outb(PIT_CH0, div & 0xFF);
    outb(PIT_CH0, div >> 8);
}
