/* SPDX-License-Identifier: Apache-2.0 */
/* virtio rate limiter: token buckets (bandwidth + ops) with a timerfd that re-kicks a queue. */
#ifndef SQUIB_VIRTIO_RATELIMIT_H
#define SQUIB_VIRTIO_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio/virtio.h"

struct vwr;
struct vrd;

/* One bucket. Tokens are kept scaled by refill_us so refills are exact integers. */
struct tbucket {
	bool enabled;
	uint64_t size, one_time_burst, refill_us;
	__int128 budget; /* tokens * refill_us; may go negative after an oversized request */
	uint64_t burst_left;
	uint64_t last_us;
};

struct ratelimit {
	struct tbucket bw, ops;
	uint64_t (*now_us)(void); /* clock (time_mono_us; tests inject their own) */
	struct evloop *loop;
	int timer_fd;
	void (*wake)(void *ctx); /* called on the VMM thread when the timer fires */
	void *ctx;
	uint64_t throttled; /* number of refused requests (metrics / tests) */
};

/* Configure from cfg (NULL or unset buckets = unlimited). With loop, a timerfd is created
 * and watched; wake(ctx) runs when a throttled request may proceed. 0 or -errno. */
int rl_init(struct ratelimit *rl, const struct rate_limiter_cfg *cfg, struct evloop *loop,
	    void (*wake)(void *ctx), void *ctx);
/* Replace the buckets with fresh full ones built from cfg (PATCH). */
void rl_update(struct ratelimit *rl, const struct rate_limiter_cfg *cfg);
/* Take bytes from the bandwidth bucket and ops from the ops bucket, both or neither. On
 * refusal arms the timer for when the request would fit and returns false. */
bool rl_consume(struct ratelimit *rl, uint64_t bytes, uint64_t ops);
/* Microseconds until rl_consume(bytes, ops) can succeed (0 = now). */
uint64_t rl_wait_us(struct ratelimit *rl, uint64_t bytes, uint64_t ops);
/* True if any bucket is configured. */
bool rl_enabled(const struct ratelimit *rl);
/* Close the timer (removing it from the loop). */
void rl_destroy(struct ratelimit *rl);
/* Budgets, field by field. */
void rl_save(const struct ratelimit *rl, struct vwr *w);
void rl_restore(struct ratelimit *rl, struct vrd *r);

#endif
