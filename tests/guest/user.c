// SPDX-License-Identifier: Apache-2.0
/* squib test guest: ring-3 scenarios (hello, digest, smp, ticks, boottimer, halt, mmio-probe). */
#include "guest.h"

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL
#define MIB (1024UL * 1024UL)

uint64_t syscall3(uint64_t nr, uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t ret;

	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "memory");
	return ret;
}

void uprintf(const char *f, ...)
{
	char buf[CMDLINE_MAX + 64]; /* a whole CMDLINE line */
	va_list ap;
	int n;

	va_start(ap, f);
	n = vfmt(buf, sizeof(buf), f, ap);
	va_end(ap);
	syscall3(SYS_WRITE, (uint64_t)buf, n < (int)sizeof(buf) ? (uint64_t)n : sizeof(buf) - 1, 0);
}

__attribute__((noreturn)) void u_reset(void)
{
	syscall3(SYS_RESET, 0, 0, 0);
	for (;;)
		;
}

static uint64_t param(const char *key, uint64_t dflt)
{
	return cmdline_num(boot.cmdline, key, dflt);
}

/* round_ms=<n>: sleep between digest rounds (gives pause/snapshot tests a window). */
static void round_delay(void)
{
	uint64_t ms = param("round_ms", 0), hz = param("hz", 100);

	if (ms && hz)
		syscall3(SYS_WAIT_TICKS, syscall3(SYS_TICKS, 0, 0, 0) + (ms * hz + 999) / 1000, 0,
			 0);
}

/*
 * Deterministic memory workload: fill with a splitmix64 stream, then per round rewrite pct% of
 * the 4 KiB pages (chosen by page and round) mixing in the running hash, and fold every word
 * into an FNV-1a-style 64-bit hash chain. The result depends only on the parameters.
 */
static uint64_t workload(uint64_t *w, uint64_t kib, uint64_t rounds, uint64_t pct, uint64_t seed,
			 int progress)
{
	uint64_t words = kib * 1024 / 8, s = seed, h = FNV_OFFSET ^ seed;

	for (uint64_t i = 0; i < words; i++)
		w[i] = splitmix64(&s);
	for (uint64_t r = 1; r <= rounds; r++) {
		uint64_t hr = h;
		for (uint64_t p = 0; p < words / 512; p++) {
			if ((p * 61 + r * 17) % 100 >= pct)
				continue;
			for (uint64_t i = p * 512; i < p * 512 + 512; i++) {
				uint64_t x = (w[i] ^ (hr + i)) * 0x9E3779B97F4A7C15ULL;
				w[i] = x ^ (x >> 32);
			}
		}
		for (uint64_t i = 0; i < words; i++)
			h = (h ^ w[i]) * FNV_PRIME;
		if (progress) {
			uprintf("PROGRESS %lu\n", r);
			round_delay();
		}
	}
	return h;
}

static int check_mem(uint64_t bytes)
{
	if (boot.ram_top && WORK_BASE + bytes > boot.ram_top) {
		uprintf("ERROR workload needs RAM up to 0x%lx but RAM ends at 0x%lx\n",
			WORK_BASE + bytes, boot.ram_top);
		return -1;
	}
	return 0;
}

static int scenario_digest(void)
{
	uint64_t kib = param("kib", param("mib", 16) * 1024), rounds = param("rounds", 8),
		 pct = param("pct", 100);

	if (kib < 4 || kib % 4 || check_mem(kib * 1024)) {
		if (kib < 4 || kib % 4)
			uprintf("ERROR kib=%lu: the workload is whole 4 KiB pages\n", kib);
		return -1;
	}
	uint64_t h = workload(phys(WORK_BASE), kib, rounds, pct, 1, 1);
	uprintf("DIGEST %016lx\n", h);
	return 0;
}

static uint64_t smp_slice(uint64_t cpu)
{
	uint64_t mib = param("mib", 2);

	return workload(phys(WORK_BASE + cpu * mib * MIB), mib * 1024, param("rounds", 2),
			param("pct", 100), cpu + 1, 0);
}

void ap_user_main(uint64_t cpu)
{
	smp_hash[cpu] = smp_slice(cpu);
	__atomic_store_n(&smp_done[cpu], 2, __ATOMIC_RELEASE);
	syscall3(SYS_HALT, 0, 0, 0);
}

static int scenario_smp(void)
{
	int n = boot.ncpus;
	uint64_t h = FNV_OFFSET;

	if (check_mem((uint64_t)n * param("mib", 2) * MIB))
		return -1;
	smp_hash[0] = smp_slice(0);
	for (int i = 1; i < n; i++)
		while (__atomic_load_n(&smp_done[i], __ATOMIC_ACQUIRE) != 2)
			__builtin_ia32_pause();
	for (int i = 0; i < n; i++) {
		uprintf("SMP-CPU %d apic=%u hash=%016lx\n", i, boot.apic_id[i], smp_hash[i]);
		h = (h ^ smp_hash[i]) * FNV_PRIME;
	}
	uprintf("SMP cpus=%d DIGEST %016lx\n", n, h);
	return 0;
}

static int scenario_ticks(void)
{
	uint64_t n = param("ticks", 10);

	if (!param("hz", 100)) {
		uprintf("ERROR ticks needs hz > 0\n");
		return -1;
	}
	for (uint64_t i = 1; i <= n; i++) {
		syscall3(SYS_WAIT_TICKS, i, 0, 0);
		uprintf("TICK %lu\n", i);
	}
	return 0;
}

static int scenario_mmio_probe(void)
{
	uint64_t base = param("mmio_base", 0xc0001000), stride = param("mmio_stride", 0x1000);
	uint64_t slots = param("mmio_slots", 8), found = 0;

	if (base < 0xC0000000UL || base + slots * stride > 0x100000000UL) {
		uprintf("ERROR mmio_base outside the mapped 0xc0000000-0xffffffff window\n");
		return -1;
	}
	for (uint64_t i = 0; i < slots; i++) {
		uint64_t a = base + i * stride;
		uint32_t magic = mmio_read32(a);
		if (magic != 0x74726976)
			continue;
		found++;
		uprintf("VIRTIO-MMIO %lu magic=%x version=%u devid=%u\n", i, magic,
			mmio_read32(a + 4), mmio_read32(a + 8));
	}
	uprintf("MMIO-PROBE found=%lu\n", found);
	return 0;
}

static int scenario_boottimer(void)
{
	*(volatile uint8_t *)phys(0xC0000000UL) = 123;
	uprintf("BOOTTIMER written\n");
	return 0;
}

static int scenario_halt(void)
{
	uprintf("HALTING\n");
	return (int)syscall3(SYS_HALT, 0, 0, 0);
}

static int scenario_fault(void)
{
	uprintf("FAULTING\n");
	*(volatile uint64_t *)phys(0x100000000UL) = 1; /* unmapped: #PF from ring 3 */
	return -1;
}

static int scenario_hello(void)
{
	return 0;
}

static int scenario_serial(void)
{
	char line[256];
	size_t n = 0;

	uprintf("READY\n");
	for (;;) {
		if (!(syscall3(SYS_INB, 0x3fd, 0, 0) & 1)) { /* LSR: no data ready */
			if (param("hz", 100))
				syscall3(SYS_WAIT_TICKS, syscall3(SYS_TICKS, 0, 0, 0) + 1, 0, 0);
			continue;
		}
		char c = (char)syscall3(SYS_INB, 0x3f8, 0, 0);
		if (c == '\r' || c == '\n') {
			if (n)
				break;
			continue;
		}
		if (n + 1 < sizeof(line))
			line[n++] = c;
	}
	line[n] = 0;
	/* The line goes in front of the boot command line, so its tokens win. */
	static char old[CMDLINE_MAX];
	char sc[32];
	memcpy(old, boot.cmdline, sizeof(old));
	fmt(boot.cmdline, sizeof(boot.cmdline), "%s%s %s",
	    cmdline_get(line, "squib.scenario", sc, sizeof(sc)) ? "" : "squib.scenario=", line,
	    old);
	user_main(0);
	return 0;
}

static int scenario_blk_rw(void)
{
	return scenario_blk(0);
}

static int scenario_blk_ro(void)
{
	return scenario_blk(1);
}

static const struct {
	const char *name;
	int (*run)(void);
} scenarios[] = {
    {"hello", scenario_hello},
    {"digest", scenario_digest},
    {"smp", scenario_smp},
    {"ticks", scenario_ticks},
    {"boottimer", scenario_boottimer},
    {"halt", scenario_halt},
    {"mmio-probe", scenario_mmio_probe},
    {"rng", scenario_rng},
    {"blk", scenario_blk_rw},
    {"blk-ro", scenario_blk_ro},
    {"blk-bench", scenario_blk_bench},
    {"net", scenario_net},
    {"vsock", scenario_vsock},
    {"vsock-listen", scenario_vsock_listen},
    {"net-bench", scenario_net_bench},
    {"vsock-bench", scenario_vsock_bench},
    {"balloon", scenario_balloon},
    {"fault", scenario_fault},
    {"serial", scenario_serial},
    {"exit-bench", scenario_exit_bench},
};

void user_main(uint64_t arg)
{
	char sc[32] = "";

	(void)arg;
	cmdline_get(boot.cmdline, "squib.scenario", sc, sizeof(sc));
	uprintf("SQUIB-TEST-GUEST %s\n", sc);
	uprintf("CMDLINE %s\n", boot.cmdline);
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (!strncmp(sc, scenarios[i].name, sizeof(sc))) {
			scenarios[i].run();
			u_reset();
		}
	uprintf("ERROR unknown scenario '%s'\n", sc);
	u_reset();
}
