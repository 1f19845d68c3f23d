/*
 * clock.h - virtual time.
 *
 * ringside has exactly one clock: the modeled cycles of the CPU (whatever the
 * engine in use charges). Devices that count time, the 8254 PIT above all,
 * derive their own time base from it with the exact integer conversions
 * below, so every run is deterministic and a guest that times itself sees the
 * overhead of the engine it runs under (DESIGN.md §3).
 *
 * CLOCK_CPU_HZ is the nominal clock of the Pentium 4 672 measured by Adams &
 * Agesen (ASPLOS 2006); CLOCK_PIT_HZ is the PC's 14.31818 MHz / 12 crystal.
 */
#ifndef RS_HW_CLOCK_H
#define RS_HW_CLOCK_H

#include <stdint.h>

#define CLOCK_CPU_HZ 3800000000ull /* nominal: the Pentium 4 672 of Adams & Agesen 2006 */
#define CLOCK_PIT_HZ 1193182ull    /* 8254 input clock on a PC */

/* Number of whole PIT input ticks completed by cycle `cycles` (rounds down). */
static inline uint64_t clock_cycles_to_pit(uint64_t cycles)
{
    return (uint64_t)((unsigned __int128)cycles * CLOCK_PIT_HZ / CLOCK_CPU_HZ);
}

/*
 * First cycle at which `ticks` PIT ticks have completed (rounds up), so that
 * clock_cycles_to_pit(clock_pit_to_cycles(t)) == t and one cycle earlier
 * gives t - 1. Saturates at UINT64_MAX.
 */
static inline uint64_t clock_pit_to_cycles(uint64_t ticks)
{
    unsigned __int128 c = ((unsigned __int128)ticks * CLOCK_CPU_HZ + CLOCK_PIT_HZ - 1)
                          / CLOCK_PIT_HZ;
    return c > UINT64_MAX ? UINT64_MAX : (uint64_t)c;
}

#endif
