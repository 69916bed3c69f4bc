// SPDX-License-Identifier: Apache-2.0
/* squib test guest: ring 0 (boot info, paging, GDT/TSS/IDT, traps, LAPIC timer, syscalls). */
#include "guest.h"

#define COM1 0x3f8
#define PTE_P 0x1ULL
#define PTE_W 0x2ULL
#define PTE_U 0x4ULL
#define PTE_PWT 0x8ULL
#define PTE_PCD 0x10ULL
#define PTE_PS 0x80ULL

#define LAPIC_ID 0x20
#define LAPIC_EOI 0xB0
#define LAPIC_SVR 0xF0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3E0

struct bootinfo boot;
volatile uint64_t smp_hash[MAX_CPUS];
volatile int smp_done[MAX_CPUS];

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[4][512] __attribute__((aligned(4096)));

struct tss {
	uint32_t rsvd0;
	uint64_t rsp0, rsp1, rsp2;
	uint64_t rsvd1, ist[7], rsvd2;
	uint16_t rsvd3, iomap;
} __attribute__((packed));

#define GDT_TSS 5 /* first TSS slot; each TSS descriptor takes two slots */
static uint64_t gdt[GDT_TSS + 2 * MAX_CPUS] __attribute__((aligned(16))) = {
    0,
    0x00af9a000000ffffULL, /* 0x08 kernel code 64 */
    0x00cf92000000ffffULL, /* 0x10 kernel data */
    0x00cff2000000ffffULL, /* 0x18 user data (DPL 3) */
    0x00affa000000ffffULL, /* 0x20 user code 64 (DPL 3) */
};
static struct tss tss[MAX_CPUS];
static uint64_t idt[256][2] __attribute__((aligned(16)));
static uint8_t kstack[MAX_CPUS][KSTACK_SIZE] __attribute__((aligned(16)));
static uint8_t ustack[MAX_CPUS][USTACK_SIZE] __attribute__((aligned(16)));
static volatile uint64_t ticks[MAX_CPUS];
static volatile int console_lock;
static uint32_t timer_count;

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

void lapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(LAPIC_BASE + reg, v);
}

uint32_t lapic_read(uint32_t reg)
{
	return mmio_read32(LAPIC_BASE + reg);
}

static int this_cpu(void)
{
	uint32_t id = lapic_read(LAPIC_ID) >> 24;

	for (int i = 0; i < boot.ncpus; i++)
		if (boot.apic_id[i] == id)
			return i;
	return 0;
}

static void serial_init(void)
{
	outb(COM1 + 1, 0x00); /* no interrupts */
	outb(COM1 + 3, 0x80); /* DLAB */
	outb(COM1 + 0, 0x01); /* 115200 */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); /* 8N1 */
	outb(COM1 + 4, 0x03); /* DTR RTS, OUT2 off */
}

static void serial_write(const char *s, size_t n)
{
	while (__atomic_exchange_n(&console_lock, 1, __ATOMIC_ACQUIRE))
		__builtin_ia32_pause();
	for (size_t i = 0; i < n; i++) {
		for (int spin = 0; spin < 1000 && !(inb(COM1 + 5) & 0x20); spin++)
			;
		outb(COM1, (uint8_t)s[i]);
	}
	__atomic_store_n(&console_lock, 0, __ATOMIC_RELEASE);
}

void kprintf(const char *f, ...)
{
	char buf[CMDLINE_MAX + 64]; /* a whole CMDLINE line */
	va_list ap;
	int n;

	va_start(ap, f);
	n = vfmt(buf, sizeof(buf), f, ap);
	va_end(ap);
	serial_write(buf, n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static __attribute__((noreturn)) void stop(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

static void udelay_reads(uint64_t us, uint64_t max_reads);

static __attribute__((noreturn)) void reset(void)
{
	kprintf("RESET\n");
	outb(0x64, 0xFE);	     /* i8042 CPU reset: the VMM exits */
	udelay_reads(100000, 20000); /* a VMM that honours it never returns here */
	/* No i8042? Triple fault with an empty IDT. */
	static const struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) null_idt = {0, 0};
	__asm__ volatile("lidt %0; int3" : : "m"(null_idt));
	stop();
}

/* Busy-wait using the LAPIC timer's current-count register (1 GHz bus / 16 on KVM and QEMU),
 * for at most max_reads register reads (where one read costs more than a timer period, as in
 * the nested lane, wraps are missed and the wait could otherwise never end). */
static void udelay_reads(uint64_t us, uint64_t max_reads)
{
	while (us && max_reads) {
		uint64_t chunk = us > 10000 ? 10000 : us;
		uint32_t start = lapic_read(LAPIC_TIMER_CUR);
		if (!timer_count) {
			lapic_write(LAPIC_TIMER_DIV, 0x3);
			lapic_write(LAPIC_LVT_TIMER, 1u << 16); /* masked one-shot */
			lapic_write(LAPIC_TIMER_INIT, (uint32_t)(chunk * 625 / 10));
			while (lapic_read(LAPIC_TIMER_CUR) && --max_reads)
				__builtin_ia32_pause();
		} else {
			/* Periodic timer running: count down-counter progress, allowing wraps. */
			uint64_t need = chunk * 625 / 10, seen = 0;
			while (seen < need && --max_reads) {
				uint32_t now = lapic_read(LAPIC_TIMER_CUR);
				seen += now <= start ? start - now : start + timer_count - now;
				start = now;
				__builtin_ia32_pause();
			}
		}
		us -= chunk;
	}
}

void udelay(uint64_t us)
{
	udelay_reads(us, UINT64_MAX);
}

static void parse_e820(uint64_t addr, uint64_t size, uint32_t type)
{
	if (type == 1 && addr <= WORK_BASE && addr + size > WORK_BASE)
		boot.ram_top = addr + size;
}

static void copy_cmdline(uint64_t pa)
{
	const char *s = phys(pa);
	size_t i = 0;

	if (pa)
		for (; i < CMDLINE_MAX - 1 && s[i]; i++)
			boot.cmdline[i] = s[i];
	boot.cmdline[i] = 0;
}

static void parse_bootinfo(int proto, uint64_t info)
{
	uint8_t *p = phys(info);

	boot.proto = proto;
	if (proto == BOOT_LINUX64) {
		copy_cmdline(*(uint32_t *)(p + 0x228));
		boot.rsdp = *(uint64_t *)(p + 0x70);
		uint8_t n = p[0x1e8];
		for (int i = 0; i < n && i < 128; i++) {
			uint8_t *e = p + 0x2d0 + 20 * i;
			parse_e820(*(uint64_t *)e, *(uint64_t *)(e + 8), *(uint32_t *)(e + 16));
		}
	} else {
		/* hvm_start_info: magic 0, version 4, cmdline_paddr 24, rsdp_paddr 32, memmap 40/48
		 */
		if (*(uint32_t *)p != 0x336ec578)
			kprintf("WARN bad hvm_start_info magic %x\n", *(uint32_t *)p);
		copy_cmdline(*(uint64_t *)(p + 24));
		if (*(uint32_t *)(p + 4) >= 1) {
			boot.rsdp = *(uint64_t *)(p + 32);
			uint8_t *m = phys(*(uint64_t *)(p + 40));
			uint32_t n = *(uint32_t *)(p + 48);
			for (uint32_t i = 0; m && i < n && i < 128; i++)
				parse_e820(*(uint64_t *)(m + 24 * i), *(uint64_t *)(m + 24 * i + 8),
					   *(uint32_t *)(m + 24 * i + 16));
		}
	}
}

/* Identity map 0..4 GiB with 2 MiB pages, all user-accessible; 3..4 GiB (MMIO) uncached. */
static void paging_init(void)
{
	pml4[0] = (uint64_t)pdpt | PTE_P | PTE_W | PTE_U;
	for (uint64_t g = 0; g < 4; g++) {
		pdpt[g] = (uint64_t)pd[g] | PTE_P | PTE_W | PTE_U;
		for (uint64_t i = 0; i < 512; i++) {
			uint64_t flags = PTE_P | PTE_W | PTE_U | PTE_PS;
			if (g == 3)
				flags |= PTE_PCD | PTE_PWT;
			pd[g][i] = ((g << 30) + (i << 21)) | flags;
		}
	}
	__asm__ volatile("mov %0, %%cr3" : : "r"((uint64_t)pml4) : "memory");
}

static void idt_init(void)
{
	for (int v = 0; v < 256; v++) {
		uint64_t a = (uint64_t)isr_stubs + 16 * (uint64_t)v;
		uint64_t type =
		    v == SYSCALL_VECTOR ? 0xEE : 0x8E; /* int gate, DPL 3 for syscalls */
		idt[v][0] =
		    (a & 0xffff) | (0x08ULL << 16) | (type << 40) | ((a >> 16 & 0xffff) << 48);
		idt[v][1] = a >> 32;
	}
}

/* Load GDT, TSS and IDT on this CPU; enable its LAPIC. */
void cpu_setup(int cpu)
{
	uint64_t base = (uint64_t)&tss[cpu], limit = sizeof(struct tss) - 1;
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) gdtr = {sizeof(gdt) - 1, (uint64_t)gdt},
				  idtr = {sizeof(idt) - 1, (uint64_t)idt};

	tss[cpu].rsp0 = (uint64_t)&kstack[cpu][KSTACK_SIZE];
	tss[cpu].iomap = sizeof(struct tss);
	gdt[GDT_TSS + 2 * cpu] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) |
				 ((base >> 24 & 0xff) << 56);
	gdt[GDT_TSS + 2 * cpu + 1] = base >> 32;
	__asm__ volatile("lgdt %0\n\t"
			 "pushq $0x08\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movl $0x10, %%eax\n\t"
			 "movl %%eax, %%ds\n\t"
			 "movl %%eax, %%es\n\t"
			 "movl %%eax, %%ss\n\t"
			 "xorl %%eax, %%eax\n\t"
			 "movl %%eax, %%fs\n\t"
			 "movl %%eax, %%gs\n\t"
			 "ltr %w1\n\t"
			 "lidt %2"
			 :
			 : "m"(gdtr), "r"((GDT_TSS + 2 * cpu) * 8), "m"(idtr)
			 : "rax", "memory");
	lapic_write(LAPIC_SVR, 0x100 | SPURIOUS_VECTOR);
	lapic_write(LAPIC_LVT_LINT0, 1u << 16); /* mask ExtINT: the PIC is not used */
}

static void timer_start(uint64_t hz)
{
	if (!hz)
		return;
	timer_count = (uint32_t)(62500000ULL / hz);
	lapic_write(LAPIC_TIMER_DIV, 0x3);
	lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR | (1u << 17)); /* periodic */
	lapic_write(LAPIC_TIMER_INIT, timer_count);
}

static const char *const exc_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS",
    "#NP", "#SS", "#GP", "#PF", "?",   "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

static void do_syscall(struct frame *f)
{
	uint16_t port = (uint16_t)f->rdi;

	switch (f->rax) {
	case SYS_WRITE:
		serial_write(phys(f->rdi), f->rsi);
		f->rax = f->rsi;
		break;
	case SYS_OUTB:
		outb(port, (uint8_t)f->rsi);
		break;
	case SYS_OUTW:
		outw(port, (uint16_t)f->rsi);
		break;
	case SYS_OUTL:
		outl(port, (uint32_t)f->rsi);
		break;
	case SYS_INB:
		f->rax = inb(port);
		break;
	case SYS_INW:
		f->rax = inw(port);
		break;
	case SYS_INL:
		f->rax = inl(port);
		break;
	case SYS_RESET:
		reset();
	case SYS_HALT:
		for (;;)
			__asm__ volatile("sti; hlt; cli");
	case SYS_WAIT_TICKS: {
		int cpu = this_cpu();
		while (ticks[cpu] < f->rdi)
			__asm__ volatile("sti; hlt; cli" ::: "memory");
		f->rax = ticks[cpu];
		break;
	}
	case SYS_TICKS:
		f->rax = ticks[this_cpu()];
		break;
	case SYS_STOP:
		stop();
	case SYS_PIO_LOOP: { /* exit-bench: the whole loop in ring 0, timer ticks keep counting */
		uint64_t n = f->rsi, v = 0;
		__asm__ volatile("sti" ::: "memory");
		for (uint64_t i = 0; i < n; i++)
			v = inb(port);
		__asm__ volatile("cli" ::: "memory");
		f->rax = v;
		break;
	}
	default:
		f->rax = (uint64_t)-1;
	}
}

void trap(struct frame *f)
{
	if (f->vec == SYSCALL_VECTOR) {
		do_syscall(f);
		return;
	}
	if (f->vec == TIMER_VECTOR) {
		ticks[this_cpu()]++;
		lapic_write(LAPIC_EOI, 0);
		return;
	}
	if (f->vec == SPURIOUS_VECTOR)
		return;
	if (f->vec >= 32) {
		kprintf("IRQ-UNEXPECTED vec=%u\n", (unsigned)f->vec);
		lapic_write(LAPIC_EOI, 0);
		return;
	}
	uint64_t cr2;
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	kprintf("PANIC exception %s vec=%u err=0x%lx rip=0x%lx cs=0x%lx rsp=0x%lx cr2=0x%lx "
		"cpu=%d\n",
		exc_names[f->vec] ? exc_names[f->vec] : "?", (unsigned)f->vec, f->err, f->rip,
		f->cs, f->rsp, cr2, this_cpu());
	if (cmdline_num(boot.cmdline, "panic_reset", 0))
		reset();
	stop();
}

void kmain(int proto, uint64_t info)
{
	char scenario[32];

	serial_init();
	parse_bootinfo(proto, info);
	paging_init();
	idt_init();
	boot.ncpus = 1;
	boot.apic_id[0] = lapic_read(LAPIC_ID) >> 24;
	cpu_setup(0);
	outb(0x21, 0xff); /* mask both 8259 PICs */
	outb(0xa1, 0xff);
	kprintf("BOOT proto=%s ram_top=0x%lx\n", proto == BOOT_PVH ? "pvh" : "linux64",
		boot.ram_top);
	if (cmdline_get(boot.cmdline, "squib.scenario", scenario, sizeof(scenario)) &&
	    !strncmp(scenario, "smp", 4))
		smp_boot();
	timer_start(cmdline_num(boot.cmdline, "hz", 100));
	enter_user(user_main, (uint64_t)&ustack[0][USTACK_SIZE - 8], 0);
}

void ap_main(int cpu)
{
	cpu_setup(cpu);
	smp_done[cpu] = 1; /* started; user code sets 2 when its work is done */
	enter_user(ap_user_main, (uint64_t)&ustack[cpu][USTACK_SIZE - 8], (uint64_t)cpu);
}

uint64_t ap_stack_top(int cpu)
{
	return (uint64_t)&kstack[cpu][KSTACK_SIZE];
}
