/*
 * compute.c - ordinary integer work, the way a C compiler writes it.
 *
 * Most of what a guest kernel executes is plain computation, and a
 * virtualization engine must run it both correctly and fast (direct
 * execution, or translated code that is mostly identical copies). This
 * kernel runs a set of small workloads - table lookups, two sorts, 64-bit
 * arithmetic (calls into libgcc's __udivdi3 and friends), a switch big
 * enough to become a jump table, calls through function pointers,
 * recursion, string functions, CRC-32, a prime sieve and hashing - and
 * prints one checksum per workload. The numbers are what QEMU computes;
 * any engine that disagrees has a bug.
 *
 * "scale=N" on the command line (default 1) repeats every workload N times
 * (the checksums fold all repetitions in), for benchmarks.
 */
#include "kernel.h"

static uint32_t rng_state;

static uint32_t rng(void)            /* a 32-bit LCG (Numerical Recipes) */
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state;
}

static uint32_t mix(uint32_t h, uint32_t v)
{
    h ^= v + 0x9e3779b9u + (h << 6) + (h >> 2);
    return h;
}

/* ---- table lookups: population count through a 256-entry table ----------- */

static uint8_t popcount_table[256];

static uint32_t work_table(void)
{
    uint32_t total = 0;
    for (int i = 0; i < 256; i++)
        popcount_table[i] = (uint8_t)((i & 1) + popcount_table[i / 2]);
    for (int i = 0; i < 2000; i++) {
        uint32_t v = rng();
        total += popcount_table[v & 0xFF] + popcount_table[(v >> 8) & 0xFF] +
                 popcount_table[(v >> 16) & 0xFF] + popcount_table[v >> 24];
    }
    return total;
}

/* ---- sorting: quicksort with a comparison callback, insertion sort --------- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void swap_u32(uint32_t *a, uint32_t *b)
{
    uint32_t t = *a;
    *a = *b;
    *b = t;
}

static void quick_sort(uint32_t *v, int n, int (*cmp)(const void *, const void *))
{
    while (n > 1) {
        int last = 0;
        swap_u32(&v[0], &v[n / 2]);
        for (int i = 1; i < n; i++)
            if (cmp(&v[i], &v[0]) < 0)
                swap_u32(&v[++last], &v[i]);
        swap_u32(&v[0], &v[last]);
        quick_sort(v, last, cmp);      /* recurse on the left part */
        v += last + 1;                 /* loop on the right part */
        n -= last + 1;
    }
}

static void insertion_sort(uint32_t *v, int n)
{
    for (int i = 1; i < n; i++) {
        uint32_t x = v[i];
        int j = i - 1;
        while (j >= 0 && v[j] > x) {
            v[j + 1] = v[j];
            j--;
        }
        v[j + 1] = x;
    }
}

static uint32_t sort_data[512];

static uint32_t sorted_checksum(const uint32_t *v, int n)
{
    uint32_t h = 0;
    for (int i = 0; i < n; i++) {
        if (i && v[i - 1] > v[i])
            return 0xBAD0BAD0u;        /* not sorted */
        h = mix(h, v[i]);
    }
    return h;
}

static uint32_t work_sort(void)
{
    for (int i = 0; i < 512; i++)
        sort_data[i] = rng() % 100000;
    quick_sort(sort_data, 512, cmp_u32);
    uint32_t h = sorted_checksum(sort_data, 512);
    for (int i = 0; i < 128; i++)
        sort_data[i] = rng() >> 8;
    insertion_sort(sort_data, 128);
    return mix(h, sorted_checksum(sort_data, 128));
}

/* ---- 64-bit arithmetic: libgcc's __udivdi3, __umoddi3, __divdi3, __moddi3 --- */

static volatile uint64_t big_divisor = 1000003;  /* volatile: no constant folding */

static uint32_t work_int64(void)
{
    uint64_t acc = 0x0123456789ABCDEFull;
    int64_t s = -1;

    for (int i = 0; i < 300; i++) {
        uint64_t x = ((uint64_t)rng() << 32) | rng();
        acc += x / big_divisor + x % (big_divisor + i);
        acc ^= acc << 7;
        acc = (acc >> 3) | (acc << 61);
        s = s * 3 - (int64_t)(x >> 40);
        s = s / -7 + s % 13;
    }
    return (uint32_t)acc ^ (uint32_t)(acc >> 32) ^ (uint32_t)s ^ (uint32_t)((uint64_t)s >> 32);
}

/* ---- a jump table: a tiny stack-machine interpreter -------------------------- */

enum { OP_PUSH, OP_ADD, OP_SUB, OP_MUL, OP_XOR, OP_DUP, OP_SWAP, OP_SHL,
       OP_SHR, OP_AND, OP_OR, OP_NOT, OP_INC, OP_DEC, OP_DROP, OP_HALT };

static uint32_t vm_run(const uint8_t *code, int n)
{
    uint32_t stack[64];
    int sp = 0, pc = 0;

    stack[sp++] = 1;
    while (pc < n) {
        uint8_t op = code[pc++];
        uint32_t a = stack[sp - 1];
        switch (op & 15) {
        case OP_PUSH: if (sp < 63) stack[sp++] = code[pc++ % n]; break;
        case OP_ADD:  if (sp > 1) { sp--; stack[sp - 1] += a; } break;
        case OP_SUB:  if (sp > 1) { sp--; stack[sp - 1] -= a; } break;
        case OP_MUL:  if (sp > 1) { sp--; stack[sp - 1] *= a; } break;
        case OP_XOR:  if (sp > 1) { sp--; stack[sp - 1] ^= a; } break;
        case OP_DUP:  if (sp < 63) stack[sp++] = a; break;
        case OP_SWAP: if (sp > 1) { stack[sp - 1] = stack[sp - 2]; stack[sp - 2] = a; } break;
        case OP_SHL:  stack[sp - 1] = a << (op >> 4); break;
        case OP_SHR:  stack[sp - 1] = a >> (op >> 4); break;
        case OP_AND:  if (sp > 1) { sp--; stack[sp - 1] &= a; } break;
        case OP_OR:   if (sp > 1) { sp--; stack[sp - 1] |= a; } break;
        case OP_NOT:  stack[sp - 1] = ~a; break;
        case OP_INC:  stack[sp - 1] = a + 1; break;
        case OP_DEC:  stack[sp - 1] = a - 1; break;
        case OP_DROP: if (sp > 1) sp--; break;
        case OP_HALT: pc = n; break;
        }
    }
    return stack[sp - 1] ^ (uint32_t)sp;
}

static uint32_t work_switch(void)
{
    uint8_t code[256];
    uint32_t h = 0;

    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 256; i++) {
            uint8_t op = (uint8_t)(rng() >> 24);
            code[i] = (op & 15) == OP_HALT ? OP_INC : op;
        }
        h = mix(h, vm_run(code, 256));
    }
    return h;
}

/* ---- indirect calls ------------------------------------------------------ */

static uint32_t f_rotl(uint32_t x) { return (x << 5) | (x >> 27); }
static uint32_t f_mul(uint32_t x) { return x * 2654435761u; }
static uint32_t f_xorshift(uint32_t x) { x ^= x << 13; x ^= x >> 17; return x ^ (x << 5); }
static uint32_t f_add(uint32_t x) { return x + 0x7F4A7C15u; }

static uint32_t (*const fn_table[4])(uint32_t) = { f_rotl, f_mul, f_xorshift, f_add };

static uint32_t work_indirect(void)
{
    uint32_t x = 1;
    for (int i = 0; i < 4000; i++)
        x = fn_table[(x ^ (uint32_t)i) & 3](x);
    return x;
}

/* ---- recursion ------------------------------------------------------------ */

static uint32_t fib(uint32_t n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static uint32_t ackermann(uint32_t m, uint32_t n)
{
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ackermann(m - 1, 1);
    return ackermann(m - 1, ackermann(m, n - 1));
}

static uint32_t work_recursion(void)
{
    return fib(18) * 1000u + ackermann(2, 3) * 100u + ackermann(3, 3);
}

/* ---- string functions -------------------------------------------------------- */

static char str_a[300], str_b[300];

static uint32_t work_strings(void)
{
    uint32_t h = 0;
    for (int i = 0; i < 40; i++) {
        memset(str_a, 'a' + i % 26, 255);
        str_a[255] = '\0';
        memcpy(str_b, str_a, 256);
        str_b[(rng() >> 8) % 255] = 'Z';
        __builtin_memcpy(str_b + 256, "tail", 5);     /* gcc may inline this */
        int c = strcmp(str_a, str_b);
        h = mix(h, (uint32_t)(c < 0 ? 1 : c > 0 ? 2 : 0));
        h = mix(h, (uint32_t)strlen(str_a) + (uint32_t)memcmp(str_a, str_a, 200));
        h = mix(h, (uint32_t)(strchr(str_b, 'Z') - str_b));
    }
    return h;
}

/* ---- CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) ----------------- */

static uint32_t crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    while (n--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & -(c & 1));
    }
    return ~c;
}

static uint32_t work_crc(void)
{
    static const char check[] = "123456789";   /* CRC-32 check value 0xCBF43926 */
    uint8_t buf[1024];
    for (int i = 0; i < 1024; i++)
        buf[i] = (uint8_t)(rng() >> 24);
    return crc32(buf, sizeof(buf)) ^ crc32((const uint8_t *)check, 9);
}

/* ---- a sieve of Eratosthenes --------------------------------------------------- */

static uint8_t composite[10001];

static uint32_t work_sieve(void)
{
    uint32_t count = 0;
    memset(composite, 0, sizeof(composite));
    for (uint32_t i = 2; i <= 10000; i++) {
        if (composite[i])
            continue;
        count++;
        for (uint32_t j = i * i; j <= 10000; j += i)
            composite[j] = 1;
    }
    return count;                  /* 1229 primes below 10000 */
}

/* ---- hashing: FNV-1a into an open-addressing table ---------------------------- */

static uint32_t hash_keys[512];

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s)
        h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

static uint32_t work_hash(void)
{
    char word[16];
    uint32_t probes = 0, dups = 0;

    memset(hash_keys, 0, sizeof(hash_keys));
    for (int i = 0; i < 300; i++) {
        ksnprintf(word, sizeof(word), "key%u", rng() % 400);
        uint32_t h = fnv1a(word) | 1, slot = h & 511;
        while (hash_keys[slot] && hash_keys[slot] != h) {
            slot = (slot + 1) & 511;
            probes++;
        }
        dups += hash_keys[slot] == h;
        hash_keys[slot] = h;
    }
    return probes * 1000u + dups;
}

/* ---- driver ------------------------------------------------------------------- */

struct workload {
    const char *name;
    uint32_t (*run)(void);
};

static const struct workload workloads[] = {
    { "table", work_table }, { "sort", work_sort }, { "int64", work_int64 },
    { "switch", work_switch }, { "indirect", work_indirect },
    { "recursion", work_recursion }, { "strings", work_strings },
    { "crc32", work_crc }, { "sieve", work_sieve }, { "hash", work_hash },
};

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    unsigned scale = mb_arg_uint(mbi, "scale=", 1);
    uint32_t all = 0;

    con_init();
    kprintf("compute: integer workloads, scale=%u\n", scale);
    if (scale == 0)
        scale = 1;
    for (size_t w = 0; w < ARRAY_SIZE(workloads); w++) {
        uint32_t sum = 0;
        rng_state = 12345u + (uint32_t)w;
        for (unsigned rep = 0; rep < scale; rep++)
            sum = mix(sum, workloads[w].run());
        kprintf("%-10s checksum 0x%08x\n", workloads[w].name, sum);
        all = mix(all, sum);
    }
    kprintf("crc32(\"123456789\") = 0x%08x, primes below 10000: %u, fib(18) = %u\n",
            crc32((const uint8_t *)"123456789", 9), work_sieve(), fib(18));
    kprintf("all workloads: 0x%08x\n", all);
    return EXIT_OK;
}
