/*
 * uart.h - a National Semiconductor PC16550D UART (COM1: 0x3F8, IRQ 4).
 *
 * Registers per the PC16550D datasheet: RBR/THR, IER, IIR/FCR, LCR (DLAB
 * selects the divisor latch DLL/DLM), MCR, LSR, MSR, SCR, with a 16-byte
 * receive FIFO when FCR enables FIFOs (else a one-byte holding register).
 * Interrupt identification follows the chip's priorities: receiver line
 * status > received data (or FIFO character timeout) > THR empty > modem
 * status. On a PC the chip's INTR pin reaches the PIC only while MCR OUT2
 * is set (the board gates it with OUT2), which is modeled.
 *
 * Simplifications, all invisible to a guest that does not time the line:
 * transmission is instantaneous (after a THR write, THRE and TEMT are 1
 * again and the THRE interrupt re-arms, as QEMU's serial does); every byte
 * is sent whole whatever LCR's word length says (as QEMU does); the FIFO
 * character-timeout interrupt is raised at once whenever the receive FIFO
 * holds fewer bytes than the trigger level; there are no parity, framing or
 * break errors, only overrun.
 *
 * Reset state: what the guest finds under qemu-system-i386 -kernel (SeaBIOS
 * does not touch COM1), measured: IER 0x00, IIR 0x01, LCR 0x00, MCR 0x08
 * (OUT2), LSR 0x60, MSR 0xB0 (DCD, DSR, CTS), SCR 0, divisor 12 (9600
 * baud). DESIGN.md §4 assumed 8N1 at 115200 (LCR 0x03, divisor 1); QEMU's
 * values are used so register reads match QEMU, and since bytes are sent
 * whole a kernel that never programs the UART still prints whole bytes.
 */
#ifndef RS_HW_UART_H
#define RS_HW_UART_H

#include <stdint.h>
#include <stdbool.h>
#include "hw/bus.h"
#include "hw/irq.h"

#define UART_COM1_BASE 0x3F8
#define UART_COM1_IRQ  4
#define UART_FIFO_SIZE 16

#define UART_RESET_LCR     0x00 /* as QEMU leaves it */
#define UART_RESET_MCR     0x08 /* OUT2: IRQ enabled on the board */
#define UART_RESET_DIVISOR 12   /* 115200 / 12 = 9600 baud */

/* LSR bits */
#define UART_LSR_DR   0x01 /* data ready */
#define UART_LSR_OE   0x02 /* overrun error */
#define UART_LSR_BI   0x10 /* break interrupt */
#define UART_LSR_THRE 0x20 /* transmitter holding register empty */
#define UART_LSR_TEMT 0x40 /* transmitter empty */

struct uart {
    uint16_t base;                 /* first port */
    uint8_t rx[UART_FIFO_SIZE];    /* receive FIFO (ring) */
    uint8_t rx_head;               /* index of the oldest byte */
    uint8_t rx_count;              /* bytes held */
    uint8_t ier;                   /* interrupt enable, low 4 bits */
    uint8_t fcr;                   /* last FCR write: FIFO enable, trigger */
    uint8_t lcr;                   /* line control; bit 7 DLAB */
    uint8_t mcr;                   /* modem control, low 5 bits */
    uint8_t lsr_err;               /* sticky LSR error bits (OE) */
    uint8_t msr_delta;             /* MSR delta bits 3-0, cleared on read */
    uint8_t scr;                   /* scratch */
    uint16_t divisor;              /* DLM:DLL */
    bool thr_ipending;             /* THRE interrupt armed */
    uint64_t tx_bytes;             /* bytes transmitted */
    uint64_t rx_overruns;          /* received bytes lost to overrun */
    struct irq_line irq;           /* re-wired by the owner after a restore */
    void (*tx)(void *ctx, uint8_t byte); /* transmit sink, may be NULL */
    void *tx_ctx;                  /* its context */
};

void uart_init(struct uart *u, struct bus *b, uint16_t base, struct irq_line irq,
               void (*tx)(void *ctx, uint8_t byte), void *tx_ctx);
void uart_reset(struct uart *u);

/* Host -> guest: a byte arrives on the serial input. Lost (overrun) if the
 * FIFO is full; ignored in loopback mode, where the input is disconnected. */
void uart_receive(struct uart *u, uint8_t byte);

/* True if uart_receive() would not lose a byte now. */
bool uart_rx_space(const struct uart *u);

#endif
