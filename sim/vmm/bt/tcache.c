/*
 * tcache.c - the translation cache: where translated blocks live and how
 * they are found, chained, evicted and invalidated.
 *
 * The TC is a byte area of the VMM region (BT_OFF_TC, --tc-size bytes),
 * filled from the front. Blocks are keyed like QEMU's TBs: guest linear
 * address, guest physical address and the mode bits the translation depends
 * on (the guest CS selector and its D bit). When a new block does not fit,
 * the policy decides where it goes (tc_policy.h): FLUSH drops every block
 * (Adams & Agesen's VMM, QEMU's tb_flush), FIFO treats the area as a
 * circular buffer and evicts the oldest blocks in the way, a plug-in
 * chooses any place and the blocks there are evicted. Every removal unchains the direct jumps that other
 * blocks patched into the removed one (they point at their exit gates
 * again) and clears its entry in the indirect-branch lookup table.
 *
 * Guest writes to translated code are detected through the VMM's page
 * protection: a guest page that holds translated code is mapped read-only
 * in the VMM's page tables (a 4 MiB page is split into a 4 KiB table from a
 * pool on first use), so a guest store there faults into the monitor, which
 * drops the page's blocks, makes the page writable again and lets the store
 * through (bt_run.c). Hardware CR0.WP makes ring-1 stores honour it.
 */
#include "bt_internal.h"
#include "tc_policy.h"

#include <stdlib.h>
#include <string.h>

static uint8_t *region(struct bt *bt)
{
    return bt->v->cpu->bus.ram + bt->v->region_pa;
}

uint8_t *tc_ptr(struct bt *bt, uint32_t off)
{
    return region(bt) + BT_OFF_TC + off;
}

uint32_t tc_lin(uint32_t off)
{
    return VMM_REGION_BASE + BT_OFF_TC + off;
}

/* The CPU's decoded-instruction cache must see every TC write. */
void tc_written(struct bt *bt, uint32_t off, uint32_t len)
{
    cpu_notify_phys_write(bt->v->cpu, bt->v->region_pa + BT_OFF_TC + off, len);
}

uint32_t bt_mode_key(struct vmm *v)
{
    const struct seg *cs = &v->cpu->s.seg[S_CS];
    return (uint32_t)cs->sel | ((cs->flags & SEGF_DB) ? 0x10000u : 0u);
}

static uint32_t hash_lin(uint32_t lin)
{
    return (lin ^ (lin >> 12)) & (BT_HASH - 1);
}

/* ---- life cycle ---- */

int tc_init(struct bt *bt)
{
    bt->hash = malloc(BT_HASH * sizeof *bt->hash);
    bt->page_hash = malloc(BT_PHASH * sizeof *bt->page_hash);
    bt->gran = malloc((BT_TC_SIZE_MAX / BT_ALIGN) * sizeof *bt->gran);
    bt->npages = bt->v->guest_ram >> 12;
    bt->prot = calloc(bt->npages + 1, 1);
    bt->bmap = calloc(BT_TC_SIZE_MAX / 8, 1);
    if (!bt->hash || !bt->page_hash || !bt->gran || !bt->prot || !bt->bmap)
        return -1;
    bt->free_head = -1;
    tc_flush(bt, false);
    return 0;
}

static void block_release(struct bt_block *b)
{
    free(b->map);
    free(b->how);
    b->map = NULL;
    b->how = NULL;
}

void tc_free(struct bt *bt)
{
    for (int i = 0; i < bt->nblocks; i++)
        block_release(&bt->blocks[i]);
    free(bt->blocks);
    free(bt->hash);
    free(bt->page_hash);
    free(bt->gran);
    free(bt->prot);
    free(bt->bmap);
}

/*
 * Guest instructions retired under BT must equal native (stats
 * guest_insns): the CPU counts an instruction fetched from the TC as a
 * guest one only where a bit is set here, at the first TC instruction of
 * each IDENT copy, sequence or branch. Callout sites stay clear (the VMM
 * counts the instruction it executes), as do entry stubs, the jumps that
 * leave a block and the miss stub.
 */
void tc_mark_boundaries(struct bt *bt, int id)
{
    const struct bt_block *b = &bt->blocks[id];
    for (uint32_t o = b->tc_off; o < b->tc_off + b->tc_len; o++)
        bt->bmap[o >> 3] &= (uint8_t)~(1u << (o & 7u));
    for (int i = 0; i < b->ninsns; i++) {
        if ((b->how[i] & BT_HOW_MASK) >= HOW_EMU)
            continue;
        uint32_t o = b->tc_off + b->map[2 * i + 1];
        bt->bmap[o >> 3] |= (uint8_t)(1u << (o & 7u));
    }
}

/*
 * The indirect-branch table: 64 Ki x {guest EIP, TC address}, indexed by
 * EIP & 0xFFFF. Translated code jumps through the TC half without a
 * compare: an entry points at a block's entry stub (which checks the EIP,
 * translate.c) or at the shared miss stub, so a stale or empty entry is
 * always safe. The guest half is the monitor's bookkeeping.
 */
void tc_table_clear(struct bt *bt)
{
    uint32_t *t = (uint32_t *)(void *)(region(bt) + BT_OFF_TABLE);
    for (uint32_t i = 0; i < BT_TABLE_SIZE; i++) {
        t[2 * i] = 0xFFFFFFFFu;        /* no guest address matches */
        t[2 * i + 1] = tc_lin(BT_MISS_STUB);
    }
}

void tc_table_fill(struct bt *bt, uint32_t eip, int id)
{
    uint32_t *t = (uint32_t *)(void *)(region(bt) + BT_OFF_TABLE);
    uint32_t mode = bt_mode_key(bt->v);
    if (mode != bt->table_mode) {
        tc_table_clear(bt);
        bt->table_mode = mode;
    }
    if (bt->blocks[id].key != eip)
        return;                        /* translated for another CS base */
    uint32_t i = eip & (BT_TABLE_SIZE - 1);
    t[2 * i] = eip;
    t[2 * i + 1] = tc_lin(bt->blocks[id].tc_off);
}

static void table_forget(struct bt *bt, const struct bt_block *b)
{
    uint32_t *t = (uint32_t *)(void *)(region(bt) + BT_OFF_TABLE);
    uint32_t i = b->key & (BT_TABLE_SIZE - 1);
    if (t[2 * i + 1] == tc_lin(b->tc_off)) {
        t[2 * i] = 0xFFFFFFFFu;
        t[2 * i + 1] = tc_lin(BT_MISS_STUB);
    }
}

uint32_t tc_body_lin(const struct bt *bt, int id)
{
    return tc_lin(bt->blocks[id].tc_off + bt->blocks[id].body);
}

/* The shared miss stub at TC offset 0: `mov ecx, gs:[S2]` (the indirect
   site saved ECX there) then `jmp` to its own gate. */
static void write_miss_stub(struct bt *bt)
{
    uint8_t *p = tc_ptr(bt, BT_MISS_STUB);
    uint32_t s2 = VP_S2;
    int32_t rel = (int32_t)(BT_GATE_BASE + BT_MISS_SITE - (tc_lin(BT_MISS_SITE) + 5u));
    p[0] = 0x65, p[1] = 0x8B, p[2] = 0x0D;
    memcpy(p + 3, &s2, 4);
    p[BT_MISS_SITE] = 0xE9;
    memcpy(p + BT_MISS_SITE + 1, &rel, 4);
    tc_written(bt, BT_MISS_STUB, BT_TC_FIRST);
}

/* Drop every block (policy FLUSH, or a reset). */
void tc_flush(struct bt *bt, bool count)
{
    for (int i = 0; i < bt->nblocks; i++)
        block_release(&bt->blocks[i]);
    for (int i = 0; i < bt->nblocks; i++)
        bt->blocks[i].live = false;
    bt->nblocks = 0;
    bt->free_head = -1;
    for (int i = 0; i < BT_HASH; i++)
        bt->hash[i] = -1;
    for (int i = 0; i < BT_PHASH; i++)
        bt->page_hash[i] = -1;
    for (uint32_t i = 0; i < BT_TC_SIZE_MAX / BT_ALIGN; i++)
        bt->gran[i] = -1;
    bt->alloc = BT_TC_FIRST;
    write_miss_stub(bt);
    tc_table_clear(bt);
    if (count) {
        bt->n.flushes++;
        vmm_emit(bt->v, EV_TC_FLUSH, PATH_EMULATED, 0, 0, 0, 0);
    }
}

/* ---- lookup ---- */

int tc_lookup(struct bt *bt, uint32_t lin, uint32_t pa, uint32_t mode)
{
    for (int32_t id = bt->hash[hash_lin(lin)]; id >= 0; id = bt->blocks[id].hash_next) {
        const struct bt_block *b = &bt->blocks[id];
        if (b->lin == lin && b->pa == pa && b->mode == mode)
            return id;
    }
    return -1;
}

int tc_block_at(const struct bt *bt, uint32_t off)
{
    if (off >= bt->cfg.tc_size)
        return -1;
    return bt->gran[off / BT_ALIGN];
}

/* ---- space ---- */

static void evict_range(struct bt *bt, uint32_t from, uint32_t to)
{
    for (uint32_t g = from / BT_ALIGN; g < (to + BT_ALIGN - 1) / BT_ALIGN; g++) {
        int id = bt->gran[g];
        if (id >= 0) {
            tc_remove(bt, id);
            bt->n.evictions++;
            vmm_emit(bt->v, EV_TC_FLUSH, PATH_EMULATED, 1, (uint32_t)id, 0, 0);
        }
    }
}

/* Does [off, off + len) still hold a live block? */
static bool range_busy(const struct bt *bt, uint32_t off, uint32_t len)
{
    for (uint32_t g = off / BT_ALIGN; g < (off + len + BT_ALIGN - 1) / BT_ALIGN; g++)
        if (bt->gran[g] >= 0)
            return true;
    return false;
}

/* The built-in policies, written against tc_policy.h like a plug-in. */
static uint32_t place_flush(const struct tc_policy_view *v, uint32_t len)
{
    (void)v, (void)len;
    return TC_POLICY_FLUSH;
}

static uint32_t place_fifo(const struct tc_policy_view *v, uint32_t len)
{
    return v->next + len <= v->size ? v->next : v->first;
}

static const struct tc_policy builtin[] = {
    [BT_POLICY_FLUSH] = { TC_POLICY_ABI, "flush", place_flush },
    [BT_POLICY_FIFO] = { TC_POLICY_ABI, "fifo", place_fifo },
};

static int by_offset(const void *a, const void *b)
{
    const struct tc_policy_block *x = a, *y = b;
    return (x->off > y->off) - (x->off < y->off);
}

/* Ask a plug-in: the live blocks by offset (only plug-ins need the list). */
static uint32_t ask_plugin(struct bt *bt, struct tc_policy_view *v, uint32_t len)
{
    struct tc_policy_block *list = malloc(sizeof *list * (size_t)(bt->nblocks + 1));
    if (!list)
        return TC_POLICY_FLUSH;
    for (int i = 0; i < bt->nblocks; i++) {
        const struct bt_block *b = &bt->blocks[i];
        if (b->live)
            list[v->nblocks++] = (struct tc_policy_block){ b->tc_off, b->tc_len, b->hits,
                                                           b->last_hit, b->born };
    }
    qsort(list, (size_t)v->nblocks, sizeof *list, by_offset);
    v->blocks = list;
    uint32_t off = bt->cfg.plugin->place(v, len);
    free(list);
    return off;
}

/* Where the policy puts a block of len bytes; TC_POLICY_FLUSH for "drop
   everything" (also the answer to a policy that names an impossible place). */
static uint32_t choose_place(struct bt *bt, uint32_t len)
{
    struct tc_policy_view v = { .size = bt->cfg.tc_size, .first = BT_TC_FIRST,
                                .next = bt->alloc, .now = bt->clock };
    uint32_t off = bt->cfg.policy == BT_POLICY_PLUGIN && bt->cfg.plugin
                       ? ask_plugin(bt, &v, len)
                       : builtin[bt->cfg.policy == BT_POLICY_FIFO].place(&v, len);
    if (off != TC_POLICY_FLUSH && (off < BT_TC_FIRST || off > bt->cfg.tc_size - len ||
                                   off % BT_ALIGN))
        off = TC_POLICY_FLUSH;
    return off;
}

uint32_t tc_reserve(struct bt *bt, uint32_t len)
{
    len = (len + BT_ALIGN - 1) & ~(BT_ALIGN - 1u);
    uint32_t off = bt->alloc;
    if (off + len > bt->cfg.tc_size || range_busy(bt, off, len)) {
        off = choose_place(bt, len);
        if (off == TC_POLICY_FLUSH) {
            tc_flush(bt, true);
            off = BT_TC_FIRST;
        } else
            evict_range(bt, off, off + len);
    }
    bt->alloc = off + len;
    return off;
}

int tc_new_block(struct bt *bt)
{
    int id;
    if (bt->free_head >= 0) {
        id = bt->free_head;
        bt->free_head = bt->blocks[id].hash_next;
    } else {
        if (bt->nblocks == bt->cap) {
            int cap = bt->cap ? bt->cap * 2 : 256;
            struct bt_block *nb = realloc(bt->blocks, (size_t)cap * sizeof *nb);
            if (!nb)
                return -1;
            bt->blocks = nb;
            bt->cap = cap;
        }
        id = bt->nblocks++;
    }
    struct bt_block *b = &bt->blocks[id];
    memset(b, 0, sizeof *b);
    b->gen = ++bt->gen_seq;
    b->born = b->last_hit = ++bt->clock;
    return id;
}

void tc_insert(struct bt *bt, int id)
{
    struct bt_block *b = &bt->blocks[id];
    b->live = true;
    uint32_t h = hash_lin(b->lin), p = (b->pa >> 12) & (BT_PHASH - 1);
    b->hash_next = bt->hash[h];
    bt->hash[h] = id;
    b->page_next = bt->page_hash[p];
    bt->page_hash[p] = id;
    for (uint32_t g = b->tc_off / BT_ALIGN; g < (b->tc_off + b->tc_len + BT_ALIGN - 1) / BT_ALIGN; g++)
        bt->gran[g] = id;
}

/* ---- chaining ---- */

/* Point the exit's rel32 at `target_lin` (a block, or its own gate). */
void tc_patch_exit(struct bt *bt, struct bt_exit *e, uint32_t target_lin)
{
    uint32_t at = e->site + e->rel;
    int32_t rel = (int32_t)(target_lin - (tc_lin(at) + 4u));
    memcpy(tc_ptr(bt, at), &rel, 4);
    tc_written(bt, at, 4);
}

static void unchain_into(struct bt *bt, int id)
{
    for (int i = 0; i < bt->nblocks; i++) {
        struct bt_block *b = &bt->blocks[i];
        if (!b->live)
            continue;
        for (int k = 0; k < b->nexits; k++) {
            struct bt_exit *e = &b->exits[k];
            if (e->to == id) {
                tc_patch_exit(bt, e, BT_GATE_BASE + e->site);
                e->to = -1;
            }
        }
    }
}

static void unlink_chain(int32_t *head, struct bt_block *blocks, int id, bool page)
{
    for (int32_t *p = head; *p >= 0;) {
        struct bt_block *b = &blocks[*p];
        int32_t *next = page ? &b->page_next : &b->hash_next;
        if (*p == id) {
            *p = *next;
            return;
        }
        p = next;
    }
}

void tc_remove(struct bt *bt, int id)
{
    struct bt_block *b = &bt->blocks[id];
    if (!b->live)
        return;
    unchain_into(bt, id);
    table_forget(bt, b);
    unlink_chain(&bt->hash[hash_lin(b->lin)], bt->blocks, id, false);
    unlink_chain(&bt->page_hash[(b->pa >> 12) & (BT_PHASH - 1)], bt->blocks, id, true);
    for (uint32_t g = b->tc_off / BT_ALIGN; g < (b->tc_off + b->tc_len + BT_ALIGN - 1) / BT_ALIGN; g++)
        if (bt->gran[g] == id)
            bt->gran[g] = -1;
    block_release(b);
    b->live = false;
    b->hash_next = bt->free_head;
    bt->free_head = id;
}

/* ---- write protection of code pages ---- */

static uint32_t *pde_of(struct bt *bt, uint32_t pa)
{
    return (uint32_t *)(void *)(region(bt) + VMM_OFF_PD + (pa >> 22) * 4u);
}

/* The 4 KiB entry mapping `pa` (1:1), splitting a 4 MiB page if needed. */
static uint32_t *pte_of(struct bt *bt, uint32_t pa)
{
    uint32_t *pde = pde_of(bt, pa);
    if (!(*pde & 1u))
        return NULL;
    if (*pde & 0x80u) {                       /* PS: split it */
        if (bt->pt_used >= (int)BT_PT_COUNT)
            return NULL;
        uint32_t off = BT_OFF_PT + (uint32_t)bt->pt_used++ * 4096u;
        uint32_t *pt = (uint32_t *)(void *)(region(bt) + off);
        uint32_t base = *pde & 0xFFC00000u, flags = *pde & 0x7u;
        for (uint32_t j = 0; j < 1024; j++)
            pt[j] = (base + (j << 12)) | flags;
        *pde = (bt->v->region_pa + off) | flags;
    }
    /* only a page table the VMM made (the RAM tail's or one split here):
       never a frame taken on trust from an entry in the region */
    uint32_t ptpa = *pde & 0xFFFFF000u, pool = bt->v->region_pa + BT_OFF_PT;
    if (ptpa != bt->v->region_pa + VMM_OFF_PT_TAIL &&
        (ptpa < pool || ptpa >= pool + BT_PT_COUNT * 4096u))
        return NULL;
    uint32_t *pt = (uint32_t *)(void *)(bt->v->cpu->bus.ram + ptpa);
    return &pt[(pa >> 12) & 1023u];
}

/* A page of the guest GDT the selector table was built from (paging off)? */
static bool is_gdt_page(const struct bt *bt, uint32_t pa)
{
    const struct bt_seltab *t = &bt->sel;
    uint32_t last = (uint32_t)(((uint64_t)t->base + t->limit) >> 12);
    return t->valid && !t->pg && (pa >> 12) >= (t->base >> 12) && (pa >> 12) <= last;
}

static void set_writable(struct bt *bt, uint32_t pa, bool w)
{
    if (w && is_gdt_page(bt, pa)) {            /* the GDT is no longer traced */
        bt->sel.valid = false;
        bt->sel.writes++;
    }
    if (vmm_pooled(bt->v)) {                   /* the 1:1 map on machine memory */
        bt->prot[pa >> 12] = !w;
        vmm_idmap_writable(bt->v, pa, w);
        return;
    }
    uint32_t *pte = pte_of(bt, pa);
    if (!pte)
        return;
    *pte = w ? (*pte | 2u) : (*pte & ~2u);
    bt->prot[pa >> 12] = !w;
    cpu_tlb_flush(bt->v->cpu);
}

void tc_protect_page(struct bt *bt, uint32_t pa)
{
    if ((pa >> 12) < bt->npages && !bt->prot[pa >> 12]) {
        set_writable(bt, pa, false);
        spt_code_page_added(bt->v, pa);     /* the shadow too, if the guest pages */
    }
}

void tc_protect_gdt_page(struct bt *bt, uint32_t pa)
{
    if ((pa >> 12) < bt->npages && !bt->prot[pa >> 12])
        set_writable(bt, pa, false);
}

bool bt_page_has_code(struct bt *bt, uint32_t guest_phys_page)
{
    return tc_page_protected(bt, guest_phys_page);
}

void bt_code_page_written(struct bt *bt, uint32_t guest_phys_page)
{
    bt->n.smc_faults++;
    tc_invalidate_range(bt, guest_phys_page & ~0xFFFu, 1, true);
}

bool tc_page_protected(const struct bt *bt, uint32_t pa)
{
    return (pa >> 12) < bt->npages && bt->prot[pa >> 12];
}

static int invalidate_page(struct bt *bt, uint32_t page)
{
    int n = 0;
    int32_t id = bt->page_hash[page & (BT_PHASH - 1)];
    while (id >= 0) {
        int32_t next = bt->blocks[id].page_next;
        if ((bt->blocks[id].pa >> 12) == page) {
            tc_remove(bt, id);
            n++;
        }
        id = next;
    }
    return n;
}

int tc_invalidate_range(struct bt *bt, uint32_t pa, uint32_t len, bool unprotect)
{
    int n = 0;
    if (len == 0)
        return 0;
    for (uint32_t page = pa >> 12; page <= (pa + len - 1u) >> 12; page++) {
        if (page >= bt->npages || !bt->prot[page])
            continue;
        n += invalidate_page(bt, page);
        if (unprotect)
            set_writable(bt, page << 12, true);
    }
    if (n) {
        bt->n.invalidations += (uint64_t)n;
        vmm_emit(bt->v, EV_TC_INVALIDATE, PATH_EMULATED, (uint32_t)n, pa, 0, 0);
    }
    return n;
}
