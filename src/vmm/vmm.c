/* SPDX-License-Identifier: Apache-2.0 */
/* vmm: InstanceStart (memory, VM, irqchip, board, command line, kernel load, vCPUs) and
 * teardown of a running microVM. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/vmm_int.h"

static int boot_fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int boot_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
		LOG_ERR("%s", err);
	}
	return code;
}

static void vmm_irq(void *ctx, uint32_t gsi, int level)
{
	struct vmm *v = ctx;
	int r = hv_vm_irq_line(v->vm, gsi, level);
	if (r < 0)
		LOG_WARNING("irq line %u: %s", gsi, strerror(-r));
}

static void vmm_i8042_reset(void *ctx)
{
	vmm_request_exit(ctx, 0, "guest reset through the i8042 controller");
}

static int vmm_memory(struct vmm *v, char *err, size_t errlen)
{
	int r = 0;
	if (!v->mem_alloc) {
		uint64_t bytes;
		if (!mul_u64(v->cfg.machine.mem_size_mib, 1024 * 1024, &bytes))
			return boot_fail(err, errlen, -EINVAL, "Invalid memory size");
		r = gmem_layout_x86(&v->mem, bytes);
		if (r == 0)
			r = gmem_alloc(&v->mem);
		if (r < 0)
			return boot_fail(err, errlen, r, "Cannot create guest memory: %s",
					 strerror(-r));
		v->mem_alloc = true;
	}
	if (v->cfg.machine.huge_pages != HUGE_PAGES_NONE)
		LOG_WARNING("huge_pages is not supported yet: using 4 KiB pages");
	r = hv_vm_create(&v->vm);
	if (r < 0)
		return boot_fail(err, errlen, r, "Cannot create the KVM VM: %s",
				 r == -ENODEV ? "/dev/kvm is not available" : strerror(-r));
	/* Map RAM before creating the irqchip: much cheaper on some hosts (testing.md). */
	unsigned flags = v->cfg.machine.track_dirty_pages ? HV_MAP_DIRTY_LOG : 0;
	if (flags && !v->mem.dirty && gmem_dirty_enable(&v->mem) < 0)
		return boot_fail(err, errlen, -ENOMEM, "Cannot allocate the dirty page bitmap");
	for (unsigned i = 0; i < v->mem.nr; i++) {
		const struct gmem_region *g = &v->mem.r[i];
		r = hv_vm_map(v->vm, i, g->gpa, g->size, g->host, flags);
		if (r < 0)
			return boot_fail(err, errlen, r, "Cannot map guest memory: %s",
					 strerror(-r));
	}
	r = hv_vm_create_irqchip(v->vm);
	if (r < 0)
		return boot_fail(err, errlen, r, "Cannot create the interrupt controller: %s",
				 strerror(-r));
	return 0;
}

static int vmm_add_dev(struct vmm *v, enum bus_space sp, uint64_t base, uint64_t len, uint32_t irq,
		       struct dev *d)
{
	d->base = base;
	d->irq = irq;
	if (v->n_devs == VMM_MAX_DEVS) {
		d->ops->destroy(d);
		return -ENOSPC;
	}
	v->devs[v->n_devs++] = d; /* owned from now on, even if registration fails */
	v->n_legacy = v->n_devs;
	return bus_register(v->bus, sp, base, len, d);
}

/* Virtio-mmio devices, created by src/virtio in Firecracker's attach order (balloon, block
 * with the root device first, net, vsock, entropy): device n sits at
 * ARCH_VIRTIO_MMIO_START + n * ARCH_VIRTIO_MMIO_LEN with GSI ARCH_IRQ_FIRST + n. Each is put
 * on the bus and in v->mmio[], which feeds the virtio_mmio.device= entries and the DSDT. */
static int vmm_board_virtio(struct vmm *v, char *err, size_t errlen)
{
	struct virtio_env env = {
	    .mem = &v->mem, .loop = v->loop, .vm = v->vm, .irq = vmm_irq, .irq_ctx = v};
	int r = virtio_devices_create(&v->cfg, &env, &v->virtio, err, errlen);
	if (r < 0) {
		LOG_ERR("%s", err);
		return r;
	}
	size_t n = virtio_set_count(v->virtio);
	for (size_t i = 0; i < n; i++) {
		const struct virtio_slot *s = virtio_set_slot(v->virtio, i);
		if (v->n_devs == VMM_MAX_DEVS || v->n_mmio == VMM_MAX_MMIO)
			return boot_fail(err, errlen, -ENOSPC, "Too many devices");
		s->dev->base = s->base;
		s->dev->irq = s->irq;
		v->devs[v->n_devs++] = s->dev;
		v->mmio[v->n_mmio++] = (struct arch_mmio_dev){s->base, s->len, s->irq};
		r = bus_register(v->bus, BUS_MMIO, s->base, s->len, s->dev);
		if (r < 0)
			return boot_fail(err, errlen, r, "Cannot place virtio device %s at %#llx",
					 s->id, (unsigned long long)s->base);
	}
	return 0;
}

static int vmm_board(struct vmm *v, char *err, size_t errlen)
{
	int r = bus_create(&v->bus);
	if (r < 0)
		return boot_fail(err, errlen, r, "Cannot create the I/O bus");
	v->serial_fd = STDOUT_FILENO;
	if (v->cfg.serial_out_path[0]) {
		v->serial_fd = open(v->cfg.serial_out_path,
				    O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC, 0600);
		if (v->serial_fd < 0)
			return boot_fail(err, errlen, -errno, "Cannot open serial output %s: %s",
					 v->cfg.serial_out_path, strerror(errno));
		v->serial_fd_owned = true;
	}
	struct dev *d;
	r = serial_create(v->serial_fd, vmm_irq, v, ARCH_SERIAL_IRQ, &d);
	if (r == 0) {
		v->serial = d;
		r = vmm_add_dev(v, BUS_PIO, ARCH_SERIAL_PORT, 8, ARCH_SERIAL_IRQ, d);
	}
	if (r == 0)
		r = i8042_create(vmm_i8042_reset, v, vmm_irq, v, &d);
	if (r == 0) {
		v->i8042 = d;
		r = vmm_add_dev(v, BUS_PIO, ARCH_I8042_PORT, 5, ARCH_I8042_IRQ, d);
	}
	if (r == 0 && v->cfg.boot_timer) {
		r = boot_timer_create(v->start_us, v->start_cpu_us, &d);
		if (r == 0)
			r = vmm_add_dev(v, BUS_MMIO, ARCH_BOOT_TIMER_ADDR, 0x1000, 0, d);
	}
	if (r < 0)
		return boot_fail(err, errlen, r, "Cannot create legacy devices: %s", strerror(-r));
	return vmm_board_virtio(v, err, errlen);
}

static int vmm_load(struct vmm *v, char *err, size_t errlen)
{
	struct vmm_mmio_slot slots[VMM_MAX_MMIO];
	for (uint32_t i = 0; i < v->n_mmio; i++)
		slots[i] = (struct vmm_mmio_slot){v->mmio[i].base, v->mmio[i].len, v->mmio[i].irq};
	char cmdline[ARCH_CMDLINE_MAX];
	int r = vmm_cmdline_build(&v->cfg, slots, v->n_mmio, cmdline, sizeof(cmdline));
	if (r < 0)
		return boot_fail(err, errlen, r, "Kernel command line is too long");
	int kfd = open(v->cfg.boot.kernel_image_path, O_RDONLY | O_CLOEXEC);
	if (kfd < 0)
		return boot_fail(err, errlen, -errno, "Cannot open kernel image: %s",
				 strerror(errno));
	int ifd = -1;
	if (v->cfg.boot.initrd_path[0]) {
		ifd = open(v->cfg.boot.initrd_path, O_RDONLY | O_CLOEXEC);
		if (ifd < 0) {
			r = -errno;
			close(kfd);
			return boot_fail(err, errlen, r, "Cannot open initrd image: %s",
					 strerror(-r));
		}
	}
	struct arch_x86_config ac = {
	    .kernel_fd = kfd,
	    .initrd_fd = ifd,
	    .cmdline = cmdline,
	    .vcpu_count = v->n_vcpus,
	    .mmio = v->mmio,
	    .n_mmio = v->n_mmio,
	};
	char why[256] = "";
	r = arch_x86_build(&v->mem, &ac, &v->boot, why, sizeof(why));
	close(kfd);
	if (ifd >= 0)
		close(ifd);
	if (r < 0)
		return boot_fail(err, errlen, r, "Cannot load kernel: %s",
				 why[0] ? why : strerror(-r));
	LOG_INF("kernel loaded (%s boot), cmdline: %s", v->boot.pvh ? "PVH" : "Linux 64-bit",
		cmdline);
	return 0;
}

static void vmm_on_exit_evt(void *arg, uint32_t events)
{
	struct vmm *v = arg;
	uint64_t n;
	ssize_t r = read(v->exit_efd, &n, sizeof(n));
	(void)r;
	if (!atomic_load(&v->exited) || v->exit_reported)
		return;
	v->exit_reported = true;
	if (v->on_exit)
		v->on_exit(v->ctx, atomic_load(&v->exit_code));
}

static void vmm_on_stdin(void *arg, uint32_t events)
{
	struct vmm *v = arg;
	uint8_t buf[64];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n > 0) {
		serial_input(v->serial, buf, (size_t)n);
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		evloop_del(v->loop, STDIN_FILENO); /* EOF or error: stop watching */
		v->stdin_watched = false;
	}
}

static int vmm_events(struct vmm *v, char *err, size_t errlen)
{
	v->exit_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->exit_efd < 0)
		return boot_fail(err, errlen, -errno, "eventfd: %s", strerror(errno));
	int r = evloop_add(v->loop, v->exit_efd, EPOLLIN, vmm_on_exit_evt, v);
	if (r < 0)
		return boot_fail(err, errlen, r, "Cannot watch the exit event: %s", strerror(-r));
	/* Serial input from stdin when it is something epoll can watch (not /dev/null). */
	if (evloop_add(v->loop, STDIN_FILENO, EPOLLIN, vmm_on_stdin, v) == 0)
		v->stdin_watched = true;
	return 0;
}

static struct vmm *vmm_new(const struct vm_config *cfg, struct evloop *loop, vmm_exit_fn on_exit,
			   void *ctx)
{
	struct vmm *v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->cfg = *cfg;
	v->loop = loop;
	v->on_exit = on_exit;
	v->ctx = ctx;
	v->exit_efd = -1;
	v->serial_fd = -1;
	v->mem.fd = -1;
	v->n_vcpus = cfg->machine.vcpu_count;
	v->start_us = cfg->start_time_us ? cfg->start_time_us : time_mono_us();
	v->start_cpu_us = cfg->start_time_cpu_us ? cfg->start_time_cpu_us : time_cpu_us();
	pthread_mutex_init(&v->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&v->cond, &ca);
	pthread_condattr_destroy(&ca);
	return v;
}

/* Common construction; load = false for a snapshot restore (no kernel, start paused). */
static int vmm_build(struct vmm *v, bool load, char *err, size_t errlen)
{
	uint64_t t0 = time_mono_us();
	int r = vmm_memory(v, err, errlen);
	uint64_t t1 = time_mono_us();
	if (r == 0)
		r = vmm_board(v, err, errlen);
	if (r == 0 && load)
		r = vmm_load(v, err, errlen);
	uint64_t t2 = time_mono_us();
	if (r == 0)
		r = vmm_events(v, err, errlen);
	if (r == 0)
		r = vmm_vcpus_start(v, !load, err, errlen);
	if (r < 0)
		return r;
	LOG_INF("microVM %s: %u vCPU, %llu MiB (memory+VM %llu us, board+load %llu us, "
		"vcpus %llu us)",
		load ? "started" : "restored (paused)", v->n_vcpus,
		(unsigned long long)v->cfg.machine.mem_size_mib, (unsigned long long)(t1 - t0),
		(unsigned long long)(t2 - t1), (unsigned long long)(time_mono_us() - t2));
	return 0;
}

int vmm_boot(const struct vm_config *cfg, struct evloop *loop, vmm_exit_fn on_exit, void *ctx,
	     struct vmm **out, char *err, size_t errlen)
{
	int r = vm_config_validate(cfg, err, errlen);
	if (r < 0)
		return r;
	struct vmm *v = vmm_new(cfg, loop, on_exit, ctx);
	if (!v)
		return boot_fail(err, errlen, -ENOMEM, "Out of memory");
	r = vmm_build(v, true, err, errlen);
	if (r < 0) {
		vmm_destroy(v);
		return r;
	}
	*out = v;
	return 0;
}

int vmm_restore(const struct vm_config *cfg, struct gmem *mem, struct evloop *loop,
		vmm_exit_fn on_exit, void *ctx,
		int (*restore_vcpu)(struct hv_vcpu *vcpu, uint32_t id, void *arg), void *arg,
		struct vmm **out, char *err, size_t errlen)
{
	const struct machine_cfg *m = &cfg->machine;
	if (m->vcpu_count < 1 || m->vcpu_count > VM_MAX_VCPUS || !restore_vcpu || mem->nr == 0) {
		gmem_free(mem);
		return boot_fail(err, errlen, -EINVAL, "Invalid microVM state to restore");
	}
	struct vmm *v = vmm_new(cfg, loop, on_exit, ctx);
	if (!v) {
		gmem_free(mem);
		return boot_fail(err, errlen, -ENOMEM, "Out of memory");
	}
	v->mem = *mem;
	v->mem_alloc = true;
	mem->nr = 0;
	mem->fd = -1;
	v->restore_vcpu = restore_vcpu;
	v->restore_arg = arg;
	int r = vmm_build(v, false, err, errlen);
	if (r < 0) {
		vmm_destroy(v);
		return r;
	}
	*out = v;
	return 0;
}

int vmm_send_ctrl_alt_del(struct vmm *v)
{
	return v->i8042 ? i8042_send_ctrl_alt_del(v->i8042) : -ENODEV;
}

void vmm_destroy(struct vmm *v)
{
	if (!v)
		return;
	vmm_vcpus_stop(v);
	if (v->stdin_watched)
		evloop_del(v->loop, STDIN_FILENO);
	if (v->exit_efd >= 0) {
		evloop_del(v->loop, v->exit_efd);
		close(v->exit_efd);
	}
	virtio_set_destroy(v->virtio);
	for (uint32_t i = v->n_legacy; i-- > 0;)
		if (v->devs[i]->ops->destroy)
			v->devs[i]->ops->destroy(v->devs[i]);
	bus_destroy(v->bus);
	if (v->serial_fd_owned)
		close(v->serial_fd);
	hv_vm_destroy(v->vm);
	if (v->mem_alloc)
		gmem_free(&v->mem);
	pthread_cond_destroy(&v->cond);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

uint32_t vmm_vcpu_count(const struct vmm *v)
{
	return v->n_vcpus;
}

struct gmem *vmm_gmem(struct vmm *v)
{
	return &v->mem;
}

struct hv_vm *vmm_hv_vm(struct vmm *v)
{
	return v->vm;
}

struct virtio_set *vmm_virtio(struct vmm *v)
{
	return v->virtio;
}

struct bus *vmm_bus(struct vmm *v)
{
	return v->bus;
}

uint32_t vmm_devices(struct vmm *v, struct dev *const **out)
{
	*out = v->devs;
	return v->n_devs;
}

const struct vm_config *vmm_config(const struct vmm *v)
{
	return &v->cfg;
}

void vmm_serial_input(struct vmm *v, const uint8_t *buf, size_t len)
{
	if (v->serial)
		serial_input(v->serial, buf, len);
}
