/*
 * bt_info.c - looking into the translator: configuration by name, and the
 * inspection API the UI (tc-dump, the TUI's TC pane) and traces use.
 *
 * Everything here reads struct bt and the TC bytes; nothing changes the
 * translator's state, so an inspector cannot perturb a run.
 */
#include "bt_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const policy_names[] = { "flush", "fifo", "plugin" };

int bt_policy_parse(const char *s)
{
    for (int i = 0; i < 2; i++)
        if (!strcmp(s, policy_names[i]))
            return i;
    return -1;
}

const char *bt_policy_name(enum bt_policy p)
{
    return (unsigned)p < 3 ? policy_names[p] : "?";
}

void bt_config_default(struct bt_config *c)
{
    c->tc_size = BT_TC_SIZE_DEFAULT;
    c->policy = BT_POLICY_FLUSH;
    c->block_insns = BT_BLOCK_INSNS_DEFAULT;
}

const struct bt_counters *bt_counters(const struct bt *bt)
{
    return &bt->n;
}

const struct bt_config *bt_get_config(const struct bt *bt)
{
    return &bt->cfg;
}

/* Live block ids in TC order (caller frees). */
static int *live_ids(const struct bt *bt, int *count)
{
    int *ids = malloc(sizeof(int) * (size_t)(bt->nblocks + 1));
    int n = 0;
    if (!ids) {
        *count = 0;
        return NULL;
    }
    for (uint32_t g = 0; g < bt->cfg.tc_size / BT_ALIGN; g++) {
        int id = bt->gran[g];
        if (id >= 0 && bt->blocks[id].tc_off / BT_ALIGN == g)
            ids[n++] = id;
    }
    *count = n;
    return ids;
}

int bt_block_count(const struct bt *bt)
{
    int n = 0;
    for (int i = 0; i < bt->nblocks; i++)
        n += bt->blocks[i].live;
    return n;
}

static int nth_id(const struct bt *bt, int i)
{
    int n, id = -1;
    int *ids = live_ids(bt, &n);
    if (ids && i >= 0 && i < n)
        id = ids[i];
    free(ids);
    return id;
}

bool bt_block_get(const struct bt *bt, int i, struct bt_block_info *out)
{
    int id = nth_id(bt, i);
    if (id < 0)
        return false;
    const struct bt_block *b = &bt->blocks[id];
    memset(out, 0, sizeof *out);
    *out = (struct bt_block_info){ .id = id, .guest_lin = b->lin, .guest_pa = b->pa,
                                   .guest_len = b->glen, .ninsns = b->ninsns,
                                   .tc_lin = tc_lin(b->tc_off), .tc_len = b->tc_len,
                                   .hits = b->hits, .nexits = b->nexits };
    for (int k = 0; k < BT_INFO_EXITS; k++)
        out->chained_to[k] = k < b->nexits ? b->exits[k].to : -1;
    return true;
}

int bt_block_find(const struct bt *bt, uint32_t guest_lin)
{
    int n, found = -1;
    int *ids = live_ids(bt, &n);
    for (int i = 0; ids && i < n; i++) {
        const struct bt_block *b = &bt->blocks[ids[i]];
        if (guest_lin - b->lin < b->glen) {
            found = i;
            break;
        }
    }
    free(ids);
    return found;
}

uint32_t bt_block_guest_bytes(const struct bt *bt, int i, uint8_t *buf, uint32_t max)
{
    int id = nth_id(bt, i);
    if (id < 0)
        return 0;
    const struct bt_block *b = &bt->blocks[id];
    uint32_t n = b->glen < max ? b->glen : max;
    if (b->pa + n > bt->v->guest_ram)
        return 0;
    vmm_read_guest_phys(bt->v, b->pa, buf, n);
    return n;
}

uint32_t bt_block_tc_bytes(const struct bt *bt, int i, uint8_t *buf, uint32_t max)
{
    int id = nth_id(bt, i);
    if (id < 0)
        return 0;
    const struct bt_block *b = &bt->blocks[id];
    uint32_t n = b->tc_len < max ? b->tc_len : max;
    memcpy(buf, bt->v->cpu->bus.ram + bt->v->region_pa + BT_OFF_TC + b->tc_off, n);
    return n;
}
