/* SPDX-License-Identifier: Apache-2.0 */
/* virtio: virtio-mmio devices (block, net, vsock, entropy, balloon) created from a vm_config. */
#ifndef SQUIB_VIRTIO_H
#define SQUIB_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "devices/devices.h"
#include "vmm/vmm.h"

struct hv_vm;

#define VIRTIO_MMIO_BASE 0xC0001000ULL
#define VIRTIO_MMIO_LEN 0x1000ULL
#define VIRTIO_IRQ_BASE 5u
#define VIRTIO_MAX_DEVICES 17 /* GSIs 5..21; Firecracker keeps two for VMGenID and VMClock */

/* Virtio device type ids (virtio 1.x section 5). */
enum virtio_kind {
	VIRTIO_KIND_NET = 1,
	VIRTIO_KIND_BLOCK = 2,
	VIRTIO_KIND_RNG = 4,
	VIRTIO_KIND_BALLOON = 5,
	VIRTIO_KIND_VSOCK = 19,
};

/* "virtio-block", "virtio-net", "virtio-vsock", "virtio-rng", "virtio-balloon" (snapshot
 * section kinds, logs); NULL for an unknown kind. */
const char *virtio_kind_name(enum virtio_kind k);

/* What the devices need from the VMM. mem and irq are required; loop may be NULL (then no
 * fd is watched: ioeventfds, taps, sockets and timers are inert, used by unit tests); vm may
 * be NULL (then no irqfd/ioeventfd: QueueNotify is handled on the MMIO exit and interrupts go
 * through irq()). */
struct virtio_env {
	struct gmem *mem;
	struct evloop *loop;
	struct hv_vm *vm;
	/* Interrupt line: level 1 while InterruptStatus != 0, 0 once the driver ACKs every bit
	 * (level semantics; with an irqfd the eventfd is written instead, an edge per event). */
	dev_irq_fn irq;
	void *irq_ctx;
};

/* One created device as the VMM must wire it: bus range, GSI, kind and config id. */
struct virtio_slot {
	struct dev *dev;
	uint64_t base;
	uint64_t len;
	uint32_t irq;
	enum virtio_kind kind;
	const char *id; /* drive_id, iface_id, "vsock", "rng", "balloon" */
};

struct virtio_set;

/* Create every device of cfg in Firecracker attach order (balloon, block with the root
 * device first, net, vsock, entropy) at 0xC0001000 + n*0x1000 with GSI 5+n. Opens files,
 * taps and sockets. On failure returns -errno and writes Firecracker-style text into err
 * (nothing is left allocated). VMM thread, after RAM and the irqchip exist. */
int virtio_devices_create(const struct vm_config *cfg, const struct virtio_env *env,
			  struct virtio_set **out, char *err, size_t errlen);
/* Number of devices and the i-th one (i < count), in attach order. */
size_t virtio_set_count(const struct virtio_set *s);
const struct virtio_slot *virtio_set_slot(const struct virtio_set *s, size_t i);
/* Destroy every device (fds closed, evloop entries removed). VMM thread. NULL is a no-op. */
void virtio_set_destroy(struct virtio_set *s);
/* Free only the set container, not the devices: for a VMM that took ownership of every
 * slot->dev (e.g. vmm_add_dev destroys them at teardown). Call after the devices are gone or
 * when no further lookup is needed. NULL is a no-op. */
void virtio_set_release(struct virtio_set *s);
/* Stop / restart device processing (queues, taps, sockets, timers). VMM thread. */
void virtio_set_pause(struct virtio_set *s);
void virtio_set_resume(struct virtio_set *s);

/* PATCH /drives: swap the backing file (path may be NULL = keep) and/or the rate limiter
 * (rl may be NULL = keep). Raises a config-change interrupt when the capacity is re-read.
 * -ENOENT unknown drive, -errno opening the file. VMM thread. */
int virtio_drive_update(struct virtio_set *s, const char *drive_id, const char *path,
			const struct rate_limiter_cfg *rl);
/* PATCH /network-interfaces: replace rx and/or tx limiters (NULL = keep). -ENOENT if unknown. */
int virtio_net_update(struct virtio_set *s, const char *iface_id, const struct rate_limiter_cfg *rx,
		      const struct rate_limiter_cfg *tx);

/* Balloon statistics as the API reports them (BalloonStats). has_* false = not reported. */
#define VIRTIO_BALLOON_NSTATS 16
struct virtio_balloon_stats {
	uint32_t target_pages, actual_pages;
	uint32_t target_mib, actual_mib;
	bool has[VIRTIO_BALLOON_NSTATS];
	uint64_t val[VIRTIO_BALLOON_NSTATS]; /* indexed by virtio stat tag (0 swap_in ...) */
};
/* PATCH /balloon: new target in MiB (config-change interrupt). -ENODEV if no balloon. */
int virtio_balloon_set_target(struct virtio_set *s, uint32_t amount_mib);
/* PATCH /balloon/statistics: new interval, first update requested immediately. -ENODEV if
 * no balloon; -EINVAL when it would switch statistics on or off (refused after boot). */
int virtio_balloon_set_stats_interval(struct virtio_set *s, uint32_t interval_s);
/* GET /balloon/statistics. -ENODEV if no balloon, -ENOTSUP if statistics are disabled. */
int virtio_balloon_get_stats(struct virtio_set *s, struct virtio_balloon_stats *out);
/* Free page hinting (PATCH /balloon/hinting/start|stop, GET /balloon/hinting/status).
 * host_cmd: last command id the host issued (0 STOP, 1 DONE, >= 2 a run); guest_cmd: last
 * id the guest reported. All return -ENODEV without a balloon, -ENOTSUP when
 * free_page_hinting was not enabled before boot. */
struct virtio_balloon_hinting {
	uint32_t host_cmd;
	bool has_guest_cmd;
	uint32_t guest_cmd;
};
int virtio_balloon_hinting_start(struct virtio_set *s, bool acknowledge_on_stop);
int virtio_balloon_hinting_stop(struct virtio_set *s);
int virtio_balloon_hinting_status(struct virtio_set *s, struct virtio_balloon_hinting *out);
/* Name of stat tag i for the JSON API ("swap_in", ...), NULL if unknown. */
const char *virtio_balloon_stat_name(unsigned tag);

/* Individual constructors (used by virtio_devices_create and by unit tests). Each returns
 * 0 or -errno and a struct dev whose ops serve the MMIO window [base, base+0x1000). */
int virtio_blk_create(const struct virtio_env *env, const struct drive_cfg *cfg, uint64_t base,
		      uint32_t gsi, struct dev **out);
int virtio_net_create(const struct virtio_env *env, const struct net_cfg *cfg, uint64_t base,
		      uint32_t gsi, struct dev **out);
int virtio_vsock_create(const struct virtio_env *env, const struct vsock_cfg *cfg, uint64_t base,
			uint32_t gsi, struct dev **out);
int virtio_rng_create(const struct virtio_env *env, const struct entropy_cfg *cfg, uint64_t base,
		      uint32_t gsi, struct dev **out);
int virtio_balloon_create(const struct virtio_env *env, const struct balloon_cfg *cfg,
			  uint64_t base, uint32_t gsi, struct dev **out);

/* Per-device variants of the set operations above (d must be of the matching kind). */
int virtio_blk_update(struct dev *d, const char *path, const struct rate_limiter_cfg *rl);
int virtio_net_update_dev(struct dev *d, const struct rate_limiter_cfg *rx,
			  const struct rate_limiter_cfg *tx);
int virtio_balloon_target(struct dev *d, uint32_t amount_mib);
int virtio_balloon_interval(struct dev *d, uint32_t interval_s);
int virtio_balloon_stats(struct dev *d, struct virtio_balloon_stats *out);
int virtio_balloon_hint_start(struct dev *d, bool acknowledge_on_stop);
int virtio_balloon_hint_stop(struct dev *d);
int virtio_balloon_hint_status(struct dev *d, struct virtio_balloon_hinting *out);
/* Balloon: run one statistics poll now (what the stats timer does). */
void virtio_balloon_poll_stats(struct dev *d);

#endif
