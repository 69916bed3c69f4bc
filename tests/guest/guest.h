/* SPDX-License-Identifier: Apache-2.0 */
/* squib test guest: shared declarations for the ring-0 kernel and the ring-3 workloads. */
#ifndef SQUIB_GUEST_H
#define SQUIB_GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_CPUS 32
#define KSTACK_SIZE 16384
#define USTACK_SIZE 16384
#define CMDLINE_MAX 2048
#define WORK_BASE 0x2000000UL /* 32 MiB: start of workload memory */
#define LAPIC_BASE 0xFEE00000UL
#define TIMER_VECTOR 0x40
#define SPURIOUS_VECTOR 0xFF
#define SYSCALL_VECTOR 0x80
#define TRAMP_ADDR 0x8000UL /* AP real-mode trampoline (SIPI vector 0x08) */

/* Boot protocol, as passed by the entry code to kmain(). */
#define BOOT_LINUX64 1
#define BOOT_PVH 2

/* System calls: int 0x80, number in rax, arguments in rdi/rsi/rdx, result in rax. */
enum {
	SYS_WRITE = 0, /* (buf, len): write bytes to the serial console */
	SYS_OUTB,      /* (port, value) */
	SYS_OUTW,
	SYS_OUTL,
	SYS_INB, /* (port) -> value */
	SYS_INW,
	SYS_INL,
	SYS_RESET,	/* print RESET, i8042 reset; never returns */
	SYS_HALT,	/* hlt forever with interrupts on; never returns */
	SYS_WAIT_TICKS, /* (n): sleep until this CPU has seen n timer ticks; returns ticks */
	SYS_TICKS,	/* -> timer ticks seen by this CPU */
	SYS_STOP,	/* cli; hlt forever; never returns */
	SYS_PIO_LOOP,	/* (port, n): n inb from port in ring 0, interrupts on; -> last value */
};

/* Register frame pushed by the interrupt stubs in entry.S (lowest address first). */
struct frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vec, err, rip, cs, rflags, rsp, ss;
};

/* Parsed command line and boot facts, filled by ring 0, read by ring 3. */
struct bootinfo {
	int proto;
	char cmdline[CMDLINE_MAX];
	uint64_t rsdp;	  /* physical address of the ACPI RSDP, 0 if unknown */
	uint64_t ram_top; /* end of the RAM region that contains WORK_BASE */
	int ncpus;	  /* CPUs running (1 unless scenario smp) */
	uint32_t apic_id[MAX_CPUS];
};
extern struct bootinfo boot;

/* Shared state for the smp scenario. */
extern volatile uint64_t smp_hash[MAX_CPUS];
extern volatile int smp_done[MAX_CPUS];

/* entry.S */
/* iretq to fn(arg) in ring 3 on stack_top with interrupts enabled; never returns. */
void enter_user(void (*fn)(uint64_t), uint64_t stack_top, uint64_t arg);
/* 256 interrupt entry stubs, 16 bytes apart (vector v at isr_stubs + 16 * v). */
extern char isr_stubs[];
/* AP trampoline image to copy to TRAMP_ADDR, and its cr3/stack/cpu parameter slots. */
extern char tramp_start[], tramp_end[], tramp_cr3[], tramp_stack[], tramp_cpu[];

/* lib.c: freestanding helpers usable from both rings (libc semantics unless noted). */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
/* snprintf subset: %s %c %d %u %x %p, 0/width, l/ll/z; returns the untruncated length. */
int vfmt(char *buf, size_t size, const char *fmt, va_list ap);
int fmt(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Find token "key=value" (or "squib.key=value") in cmdline; copy the value, return 1 if found. */
int cmdline_get(const char *cmdline, const char *key, char *val, size_t size);
/* Numeric parameter (decimal or 0x hex) with default. */
uint64_t cmdline_num(const char *cmdline, const char *key, uint64_t dflt);
/* Next value of the splitmix64 stream (advances *state). */
uint64_t splitmix64(uint64_t *state);

/* Physical address -> pointer without tripping gcc's constant-address array-bounds checks. */
static inline void *phys(uint64_t addr)
{
	void *p;
	__asm__("" : "=r"(p) : "0"(addr));
	return p;
}

/* 32-bit MMIO access (the 3-4 GiB window is mapped uncached and user-accessible). */
static inline uint32_t mmio_read32(uint64_t addr)
{
	return *(volatile uint32_t *)phys(addr);
}

static inline void mmio_write32(uint64_t addr, uint32_t v)
{
	*(volatile uint32_t *)phys(addr) = v;
}

/* kernel.c (ring 0) */
/* BSP entry from entry.S: proto BOOT_LINUX64 (info = zero page) or BOOT_PVH (hvm_start_info). */
void kmain(int proto, uint64_t info);
/* AP entry from the trampoline: set up this CPU and run ap_user_main(cpu) in ring 3. */
void ap_main(int cpu);
/* Common interrupt handler: syscalls, timer, spurious; exceptions print PANIC and stop. */
void trap(struct frame *f);
/* Formatted write to the serial console (ring 0 only). */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* xAPIC register access at LAPIC_BASE (ring 0). */
void lapic_write(uint32_t reg, uint32_t v);
uint32_t lapic_read(uint32_t reg);
/* Busy-wait about us microseconds using the LAPIC timer count (assumes a 1 GHz APIC bus). */
void udelay(uint64_t us);
/* Load GDT/TSS/IDT and enable the LAPIC on the calling CPU (index cpu). */
void cpu_setup(int cpu);
/* Initial stack of an AP (its kernel stack). */
uint64_t ap_stack_top(int cpu);

/* smp.c (ring 0) */
/* Enabled local APIC ids from the ACPI MADT into ids (at most max); returns the count or 0. */
int acpi_find_cpus(uint32_t *ids, int max);
/* Discover CPUs (MADT, MP table or cpus=) and start the APs; updates boot.ncpus/apic_id. */
void smp_boot(void);

/* user.c (ring 3) */
/* Ring-3 main of the BSP: print the banner, run the scenario, reset. */
void user_main(uint64_t arg);
/* Ring-3 main of an AP: hash its smp slice, publish it, idle. */
void ap_user_main(uint64_t cpu);
/* Formatted write to the console through SYS_WRITE. */
void uprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* int 0x80 system call (numbers above); returns rax. */
uint64_t syscall3(uint64_t nr, uint64_t a, uint64_t b, uint64_t c);
/* SYS_RESET: print RESET and reset through the i8042. */
__attribute__((noreturn)) void u_reset(void);

/* Ring-3 virtio scenarios (vdevices.c, vnet.c, vsock.c): 0 on success, -1 after printing why. */
int scenario_rng(void);
int scenario_blk(int read_only);
int scenario_net(void);
int scenario_balloon(void);
int scenario_vsock(void);
int scenario_vsock_listen(void);
/* bench_net.c: guest-timed virtio-net / virtio-vsock throughput (tests/guest/README.md). */
int scenario_net_bench(void);
int scenario_vsock_bench(void);
/* bench_blk.c: blk-bench (BLK-BENCH-OK line); 0 on success. */
int scenario_blk_bench(void);
/* bench_exit.c: exit-bench (EXIT-BENCH-OK lines); 0 on success. */
int scenario_exit_bench(void);

#endif
