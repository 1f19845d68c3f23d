/*
 * tui_captions.h - the demo's captions, true of the engine and cost profile
 * on screen (tui_captions.c).
 */
#ifndef RS_TUI_CAPTIONS_H
#define RS_TUI_CAPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "vmm/cost.h"

struct tui_caption_ctx {
    const char *mode;                 /* "native", "trap", "bt", "hw" */
    const char *detail;               /* the event's specifics ("cli at 00100a3c") */
    const struct cost_profile *costs; /* the run's profile */
    int block_insns;                  /* bt: guest instructions per translation unit */
};

/* EV_BIT of every kind the demo narrates. */
uint32_t tui_caption_kinds(void);

/* The caption for the first event of `kind`; false if it is not narrated. */
bool tui_caption(enum ev_kind kind, const struct tui_caption_ctx *c, char *buf, size_t len);

#endif
