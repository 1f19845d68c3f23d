/*
 * uart.c - the PC16550D UART (see uart.h). References are to the National
 * Semiconductor "PC16550D Universal Asynchronous Receiver/Transmitter with
 * FIFOs" datasheet (June 1995), table IV (interrupt control functions) and
 * the register descriptions of section 8.
 */
#include <assert.h>
#include <string.h>
#include "hw/uart.h"

enum { R_DATA, R_IER, R_IIR, R_LCR, R_MCR, R_LSR, R_MSR, R_SCR };

#define IER_RDA  0x01 /* received data available */
#define IER_THRE 0x02 /* THR empty */
#define IER_RLS  0x04 /* receiver line status */
#define IER_MSI  0x08 /* modem status */
#define IIR_NONE    0x01
#define IIR_MSI     0x00
#define IIR_THRE    0x02
#define IIR_RDA     0x04
#define IIR_RLS     0x06
#define IIR_TIMEOUT 0x0C
#define IIR_FIFO    0xC0 /* both bits set when FCR bit 0 enables FIFOs */
#define FCR_ENABLE  0x01
#define FCR_CLR_RX  0x02
#define FCR_CLR_TX  0x04
#define LCR_DLAB    0x80
#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
/* With nothing attached QEMU reports carrier, data set ready and clear to
 * send (MSR 0xB0, measured). */
#define MSR_IDLE 0xB0

/* ---- state ------------------------------------------------------------- */

static bool uart_fifo_on(const struct uart *u)
{
    return u->fcr & FCR_ENABLE;
}

static int uart_rx_capacity(const struct uart *u)
{
    return uart_fifo_on(u) ? UART_FIFO_SIZE : 1;
}

/* Receiver FIFO trigger level, FCR bits 7-6 (datasheet, FCR description). */
static int uart_rx_trigger(const struct uart *u)
{
    static const int level[4] = { 1, 4, 8, 14 };
    return level[u->fcr >> 6];
}

/* MSR bits 7-4. In loopback the modem inputs are wired to the outputs:
 * CTS = RTS, DSR = DTR, RI = OUT1, DCD = OUT2 (datasheet, MCR bit 4). */
static uint8_t uart_msr_status(const struct uart *u)
{
    if (!(u->mcr & MCR_LOOP))
        return MSR_IDLE;
    return (uint8_t)((u->mcr & MCR_RTS) << 3 | (u->mcr & MCR_DTR) << 5 |
                     (u->mcr & MCR_OUT1) << 4 | (u->mcr & MCR_OUT2) << 4);
}

/* Interrupt identification, highest priority first (datasheet table IV). */
static uint8_t uart_iir_id(const struct uart *u)
{
    if ((u->ier & IER_RLS) && (u->lsr_err & (UART_LSR_OE | UART_LSR_BI)))
        return IIR_RLS;
    if ((u->ier & IER_RDA) && u->rx_count) {
        if (!uart_fifo_on(u) || u->rx_count >= uart_rx_trigger(u))
            return IIR_RDA;
        return IIR_TIMEOUT;
    }
    if ((u->ier & IER_THRE) && u->thr_ipending)
        return IIR_THRE;
    if ((u->ier & IER_MSI) && u->msr_delta)
        return IIR_MSI;
    return IIR_NONE;
}

/* The IRQ pin as the PIC sees it. A PC board gates INTR with OUT2; QEMU,
   ringside's reference machine, does not, and kernels rely on it (xv6 writes
   MCR = 0 and still takes its console interrupts): not gated here either. */
static void uart_update_irq(struct uart *u)
{
    int level = uart_iir_id(u) != IIR_NONE;
    irq_set(u->irq, level);
}

/* ---- receive ----------------------------------------------------------- */

/* A byte reaches the receiver (from the line or from loopback). A full
 * FIFO overruns: the new byte is lost; without FIFOs the holding register
 * is overwritten (datasheet, LSR bit 1). */
static void uart_rx_push(struct uart *u, uint8_t byte)
{
    if (u->rx_count >= uart_rx_capacity(u)) {
        u->lsr_err |= UART_LSR_OE;
        u->rx_overruns++;
        if (!uart_fifo_on(u))
            u->rx[u->rx_head] = byte;
    } else {
        u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = byte;
        u->rx_count++;
    }
    uart_update_irq(u);
}

static uint8_t uart_rx_pop(struct uart *u)
{
    if (!u->rx_count)
        return u->rx[u->rx_head]; /* the last byte again, as the chip does */
    uint8_t byte = u->rx[u->rx_head];
    u->rx_count--;
    if (u->rx_count)
        u->rx_head = (uint8_t)((u->rx_head + 1) % UART_FIFO_SIZE);
    return byte;
}

static void uart_rx_clear(struct uart *u)
{
    u->rx_count = 0;
    u->rx_head = 0;
}

void uart_receive(struct uart *u, uint8_t byte)
{
    if (u->mcr & MCR_LOOP)
        return;
    uart_rx_push(u, byte);
}

bool uart_rx_space(const struct uart *u)
{
    return !(u->mcr & MCR_LOOP) && u->rx_count < uart_rx_capacity(u);
}

/* ---- transmit and control --------------------------------------------- */

/* THR write: THRE drops (clearing a THRE interrupt), the byte leaves at
 * once, THRE and TEMT rise and the THRE interrupt re-arms, so the PIC sees a
 * fresh edge per byte, as with QEMU's serial. */
static void uart_write_thr(struct uart *u, uint8_t byte)
{
    u->thr_ipending = false;
    uart_update_irq(u);
    u->tx_bytes++;
    if (u->mcr & MCR_LOOP)
        uart_rx_push(u, byte);
    else if (u->tx)
        u->tx(u->tx_ctx, byte);
    u->thr_ipending = true;
    uart_update_irq(u);
}

/* Enabling ETBEI while THR is empty raises the THRE interrupt at once. */
static void uart_write_ier(struct uart *u, uint8_t val)
{
    uint8_t changed = (u->ier ^ val) & IER_THRE;
    u->ier = val & 0x0F;
    if (changed)
        u->thr_ipending = (u->ier & IER_THRE) != 0;
}

/* Changing FIFO enable clears both FIFOs (datasheet, FCR bit 0). */
static void uart_write_fcr(struct uart *u, uint8_t val)
{
    if ((val ^ u->fcr) & FCR_ENABLE)
        val |= FCR_CLR_RX | FCR_CLR_TX;
    if (val & FCR_CLR_RX)
        uart_rx_clear(u);
    if (val & FCR_CLR_TX)
        u->thr_ipending = true; /* the empty transmitter re-arms THRE (QEMU) */
    u->fcr = val & 0xC1;
}

/* MCR write: in loopback, output changes show up as MSR deltas. TERI is set
 * when RI goes from active to inactive. */
static void uart_write_mcr(struct uart *u, uint8_t val)
{
    uint8_t before = uart_msr_status(u);
    u->mcr = val & 0x1F;
    uint8_t after = uart_msr_status(u), diff = before ^ after;
    u->msr_delta |= (uint8_t)((diff >> 4) & 0x0B); /* DCTS, DDSR, DDCD */
    if ((before & 0x40) && !(after & 0x40))
        u->msr_delta |= 0x04;                      /* TERI */
}

static uint8_t uart_read_lsr(struct uart *u)
{
    uint8_t v = (uint8_t)(UART_LSR_THRE | UART_LSR_TEMT | u->lsr_err | (u->rx_count ? UART_LSR_DR : 0));
    u->lsr_err = 0; /* error bits clear on read */
    return v;
}

static uint8_t uart_read_msr(struct uart *u)
{
    uint8_t v = uart_msr_status(u) | u->msr_delta;
    u->msr_delta = 0;
    return v;
}

/* Reading IIR while it reports THRE clears that interrupt (table IV). */
static uint8_t uart_read_iir(struct uart *u)
{
    uint8_t id = uart_iir_id(u);
    if (id == IIR_THRE)
        u->thr_ipending = false;
    return id | (uart_fifo_on(u) ? IIR_FIFO : 0);
}

/* ---- port handlers ----------------------------------------------------- */

static uint32_t uart_read(void *dev, uint16_t port, int size)
{
    struct uart *u = dev;
    bool dlab = u->lcr & LCR_DLAB;
    uint8_t v;
    switch (port - u->base) {
    case R_DATA: v = dlab ? (uint8_t)u->divisor : uart_rx_pop(u); break;
    case R_IER:  v = dlab ? (uint8_t)(u->divisor >> 8) : u->ier; break;
    case R_IIR:  v = uart_read_iir(u); break;
    case R_LCR:  v = u->lcr; break;
    case R_MCR:  v = u->mcr; break;
    case R_LSR:  v = uart_read_lsr(u); break;
    case R_MSR:  v = uart_read_msr(u); break;
    default:     v = u->scr; break;
    }
    uart_update_irq(u);
    return v;
}

static void uart_write(void *dev, uint16_t port, int size, uint32_t val)
{
    struct uart *u = dev;
    bool dlab = u->lcr & LCR_DLAB;
    uint8_t b = (uint8_t)val;
    switch (port - u->base) {
    case R_DATA:
        if (dlab)
            u->divisor = (uint16_t)((u->divisor & 0xFF00) | b);
        else
            uart_write_thr(u, b);
        break;
    case R_IER:
        if (dlab)
            u->divisor = (uint16_t)((u->divisor & 0x00FF) | b << 8);
        else
            uart_write_ier(u, b);
        break;
    case R_IIR: uart_write_fcr(u, b); break;
    case R_LCR: u->lcr = b; break;
    case R_MCR: uart_write_mcr(u, b); break;
    case R_LSR: break; /* factory test only */
    case R_MSR: break; /* read-only */
    default:    u->scr = b; break;
    }
    uart_update_irq(u);
}

void uart_reset(struct uart *u)
{
    memset(u->rx, 0, sizeof(u->rx));
    uart_rx_clear(u);
    u->ier = u->fcr = u->lsr_err = u->msr_delta = u->scr = 0;
    u->lcr = UART_RESET_LCR;
    u->mcr = UART_RESET_MCR;
    u->divisor = UART_RESET_DIVISOR;
    u->thr_ipending = false;
    u->tx_bytes = u->rx_overruns = 0;
    uart_update_irq(u);
}

void uart_init(struct uart *u, struct bus *b, uint16_t base, struct irq_line irq,
               void (*tx)(void *ctx, uint8_t byte), void *tx_ctx)
{
    memset(u, 0, sizeof(*u));
    u->base = base;
    u->irq = irq;
    u->tx = tx;
    u->tx_ctx = tx_ctx;
    uart_reset(u);
    bus_map_io(b, base, 8, u, uart_read, uart_write);
}
