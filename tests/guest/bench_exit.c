// SPDX-License-Identifier: Apache-2.0
/* squib test guest: exit-bench scenario, guest-timed loops of VMM-emulated MMIO and port reads. */
#include "guest.h"

#define VIRTIO_MMIO_MAGIC 0x74726976
#define COM1_SCR 0x3ff /* 16550 scratch register: no side effects */
#define SCR_PATTERN 0xa5
#define WARMUP_OPS 100

static uint64_t num(const char *key, uint64_t dflt)
{
	return cmdline_num(boot.cmdline, key, dflt);
}

/* Ring 3 may use rdtsc: the guest never sets CR4.TSD. */
static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

/* Wait for the next timer tick (with hz=0 there is none) so a loop starts on a tick edge. */
static uint64_t tick_edge(uint64_t hz)
{
	uint64_t t = syscall3(SYS_TICKS, 0, 0, 0);

	return hz ? syscall3(SYS_WAIT_TICKS, t + 1, 0, 0) : t;
}

/* Base of the first virtio-mmio slot that holds a device (magic and a non-zero device id). */
static uint64_t first_device(void)
{
	uint64_t base = num("mmio_base", 0xc0001000), stride = num("mmio_stride", 0x1000);
	uint64_t slots = num("mmio_slots", 8);

	if (base < 0xC0000000UL || base + slots * stride > 0x100000000UL)
		return 0;
	for (uint64_t i = 0; i < slots; i++) {
		uint64_t a = base + i * stride;
		if (mmio_read32(a) == VIRTIO_MMIO_MAGIC && mmio_read32(a + 8) != 0)
			return a;
	}
	return 0;
}

static uint32_t mmio_loop(uint64_t addr, uint64_t n)
{
	uint32_t v = 0;

	for (uint64_t i = 0; i < n; i++)
		v = mmio_read32(addr);
	return v;
}

static void report(const char *kind, uint64_t ops, uint64_t ticks, uint64_t hz, uint64_t cycles,
		   const char *what, uint64_t where)
{
	uint64_t ns = hz && ops ? ticks * 1000000000ULL / hz / ops : 0;

	uprintf(
	    "EXIT-BENCH-OK kind=%s ops=%lu ticks=%lu hz=%lu cycles=%lu ns_per_op=%lu %s=0x%lx\n",
	    kind, ops, ticks, hz, cycles, ns, what, where);
}

/* MagicValue (offset 0) of the first device: read-only, served by the VMM in user space. */
static int bench_mmio(uint64_t ops, uint64_t hz)
{
	uint64_t a = first_device();

	if (!a) {
		uprintf(
		    "EXIT-BENCH-FAIL kind=mmio no virtio-mmio device (mmio_base/stride/slots)\n");
		return -1;
	}
	mmio_loop(a, WARMUP_OPS);
	uint64_t t0 = tick_edge(hz), c0 = rdtsc();
	uint32_t v = mmio_loop(a, ops);
	uint64_t c1 = rdtsc(), t1 = syscall3(SYS_TICKS, 0, 0, 0);
	if (ops && v != VIRTIO_MMIO_MAGIC) {
		uprintf("EXIT-BENCH-FAIL kind=mmio read 0x%x at 0x%lx\n", v, a);
		return -1;
	}
	report("mmio", ops, t1 - t0, hz, c1 - c0, "addr", a);
	return 0;
}

/* COM1 scratch register, read in a ring-0 loop (SYS_PIO_LOOP): one syscall, ops exits. */
static int bench_pio(uint64_t ops, uint64_t hz)
{
	syscall3(SYS_OUTB, COM1_SCR, SCR_PATTERN, 0);
	uint64_t v = syscall3(SYS_PIO_LOOP, COM1_SCR, WARMUP_OPS, 0);
	if (v != SCR_PATTERN) {
		uprintf("EXIT-BENCH-FAIL kind=pio scratch register 0x%x reads 0x%lx, not 0x%x\n",
			COM1_SCR, v, SCR_PATTERN);
		return -1;
	}
	uint64_t t0 = tick_edge(hz), c0 = rdtsc();
	v = syscall3(SYS_PIO_LOOP, COM1_SCR, ops, 0);
	uint64_t c1 = rdtsc(), t1 = syscall3(SYS_TICKS, 0, 0, 0);
	if (ops && v != SCR_PATTERN) {
		uprintf("EXIT-BENCH-FAIL kind=pio read 0x%lx\n", v);
		return -1;
	}
	report("pio", ops, t1 - t0, hz, c1 - c0, "port", COM1_SCR);
	return 0;
}

/* exit-bench: ops= reads of each kind (kinds=mmio|pio|both), timed over the whole loop. */
int scenario_exit_bench(void)
{
	uint64_t ops = num("ops", 100000), hz = num("hz", 100);
	char kinds[8] = "both";
	int r = 0;

	cmdline_get(boot.cmdline, "kinds", kinds, sizeof(kinds));
	if (strncmp(kinds, "pio", sizeof(kinds)))
		r |= bench_mmio(ops, hz);
	if (strncmp(kinds, "mmio", sizeof(kinds)))
		r |= bench_pio(ops, hz);
	return r;
}
