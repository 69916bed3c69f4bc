/* SPDX-License-Identifier: Apache-2.0 */
/* devices: the I/O bus (port and MMIO dispatch) and the legacy devices (serial, i8042,
 * boot timer). Virtio devices plug into the same bus through src/virtio. */
#ifndef SQUIB_DEVICES_H
#define SQUIB_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dev;
struct sbuf; /* snapshot section writer, see src/snapshot/snapshot.h */

/* One ops table per device kind. read/write run on a vCPU thread (or the VMM thread for
 * ioeventfd-driven work); a device serialises its own state with its own lock. */
struct dev_ops {
	const char *kind;
	void (*read)(struct dev *d, uint64_t off, uint8_t *data, uint32_t len);
	void (*write)(struct dev *d, uint64_t off, const uint8_t *data, uint32_t len);
	void (*reset)(struct dev *d);
	int (*save)(struct dev *d, struct sbuf *out); /* field by field, LE */
	int (*restore)(struct dev *d, const uint8_t *buf, size_t len);
	void (*pause)(struct dev *d);
	void (*resume)(struct dev *d);
	void (*destroy)(struct dev *d);
};

struct dev {
	const struct dev_ops *ops;
	void *priv;
	char id[64];
	uint64_t base; /* where the guest finds it (port or MMIO address), set by the board */
	uint32_t irq;  /* its GSI, 0 if none; snapshots record both and a load checks them */
};

enum bus_space { BUS_PIO = 0, BUS_MMIO = 1 };

struct bus;
int bus_create(struct bus **out);
void bus_destroy(struct bus *b);
/* Register [base, base+len) in space. -EEXIST if it overlaps an existing range, -EINVAL if
 * len is 0 or base+len overflows. VMM thread, before vCPUs run. */
int bus_register(struct bus *b, enum bus_space sp, uint64_t base, uint64_t len, struct dev *d);
/* Dispatch an access. Returns true if a device handled it; unhandled reads return 0xff..
 * Any vCPU thread (the range table is read-only once vCPUs run). */
bool bus_read(struct bus *b, enum bus_space sp, uint64_t addr, uint8_t *data, uint32_t len);
bool bus_write(struct bus *b, enum bus_space sp, uint64_t addr, const uint8_t *data, uint32_t len);
/* Registered ranges of a space, sorted by base (for snapshots and debugging). bus_at returns
 * the i-th device and its range, or NULL if i >= bus_count. Any thread. */
uint32_t bus_count(const struct bus *b, enum bus_space sp);
struct dev *bus_at(const struct bus *b, enum bus_space sp, uint32_t i, uint64_t *base,
		   uint64_t *len);

/* Legacy devices. irq_cb raises (level=1) / lowers (0) the device's line. */
typedef void (*dev_irq_fn)(void *ctx, uint32_t gsi, int level);

/* 16550A UART. out_fd receives the guest's output (stdout or serial_out_path). */
int serial_create(int out_fd, dev_irq_fn irq, void *irq_ctx, uint32_t gsi, struct dev **out);
/* Feed host input bytes (stdin) to the guest. */
void serial_input(struct dev *d, const uint8_t *buf, size_t len);

/* i8042: reset_fn is called (from a vCPU thread) when the guest writes 0xFE to port 0x64. */
int i8042_create(void (*reset_fn)(void *ctx), void *ctx, dev_irq_fn irq, void *irq_ctx,
		 struct dev **out);
/* Queue Ctrl+Alt+Del scancodes and raise the keyboard IRQ (SendCtrlAltDel). */
int i8042_send_ctrl_alt_del(struct dev *d);

/* Boot timer at 0xC0000000: a 1-byte write of 123 logs the guest boot time. */
int boot_timer_create(uint64_t start_us, uint64_t start_cpu_us, struct dev **out);

#endif
