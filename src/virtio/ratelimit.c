/* SPDX-License-Identifier: Apache-2.0 */
/* virtio rate limiter: exact integer token buckets, one-time burst, timerfd wake-ups. */
#include "virtio/ratelimit.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "virtio/vdev.h"

static void tb_setup(struct tbucket *b, const struct tbucket_cfg *c, uint64_t now)
{
	memset(b, 0, sizeof(*b));
	if (!c || !c->set || c->size == 0 || c->refill_time_ms == 0)
		return;
	b->enabled = true;
	b->size = c->size;
	b->refill_us = c->refill_time_ms * 1000;
	b->budget = (__int128)b->size * b->refill_us;
	b->one_time_burst = c->one_time_burst;
	b->burst_left = c->one_time_burst;
	b->last_us = now;
}

static void tb_refill(struct tbucket *b, uint64_t now)
{
	if (!b->enabled || now <= b->last_us)
		return;
	__int128 cap = (__int128)b->size * b->refill_us;
	b->budget += (__int128)(now - b->last_us) * b->size;
	if (b->budget > cap)
		b->budget = cap;
	b->last_us = now;
}

/* Tokens still needed from the refilling bucket after the one-time burst. */
static uint64_t tb_need(const struct tbucket *b, uint64_t tokens)
{
	return tokens > b->burst_left ? tokens - b->burst_left : 0;
}

/* Microseconds until n tokens fit. A request larger than the bucket fits once it is full. */
static uint64_t tb_wait(const struct tbucket *b, uint64_t tokens)
{
	if (!b->enabled)
		return 0;
	uint64_t need = tb_need(b, tokens);
	if (need == 0)
		return 0;
	if (need > b->size)
		need = b->size;
	__int128 want = (__int128)need * b->refill_us;
	if (b->budget >= want)
		return 0;
	__int128 missing = want - b->budget;
	return (uint64_t)((missing + b->size - 1) / b->size);
}

static void tb_take(struct tbucket *b, uint64_t tokens)
{
	if (!b->enabled)
		return;
	uint64_t from_burst = tokens < b->burst_left ? tokens : b->burst_left;
	b->burst_left -= from_burst;
	b->budget -= (__int128)(tokens - from_burst) * b->refill_us;
}

static uint64_t rl_now(struct ratelimit *rl)
{
	return rl->now_us ? rl->now_us() : time_mono_us();
}

static void rl_timer_cb(void *arg, uint32_t events)
{
	struct ratelimit *rl = arg;
	uint64_t n;
	if (read(rl->timer_fd, &n, sizeof(n)) < 0)
		return;
	if (rl->wake)
		rl->wake(rl->ctx);
}

int rl_init(struct ratelimit *rl, const struct rate_limiter_cfg *cfg, struct evloop *loop,
	    void (*wake)(void *ctx), void *ctx)
{
	uint64_t (*clk)(void) = rl->now_us;
	memset(rl, 0, sizeof(*rl));
	rl->now_us = clk;
	rl->timer_fd = -1;
	rl->wake = wake;
	rl->ctx = ctx;
	rl_update(rl, cfg);
	if (!loop)
		return 0;
	rl->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (rl->timer_fd < 0)
		return -errno;
	int rc = evloop_add(loop, rl->timer_fd, EPOLLIN, rl_timer_cb, rl);
	if (rc) {
		close(rl->timer_fd);
		rl->timer_fd = -1;
		return rc;
	}
	rl->loop = loop;
	return 0;
}

void rl_update(struct ratelimit *rl, const struct rate_limiter_cfg *cfg)
{
	uint64_t now = rl_now(rl);
	tb_setup(&rl->bw, cfg ? &cfg->bandwidth : NULL, now);
	tb_setup(&rl->ops, cfg ? &cfg->ops : NULL, now);
	if (rl->wake && rl->timer_fd >= 0) {
		/* Let a request throttled by the old limits retry promptly. */
		struct itimerspec its = {.it_value = {0, 1000}};
		timerfd_settime(rl->timer_fd, 0, &its, NULL);
	}
}

bool rl_enabled(const struct ratelimit *rl)
{
	return rl->bw.enabled || rl->ops.enabled;
}

uint64_t rl_wait_us(struct ratelimit *rl, uint64_t bytes, uint64_t ops)
{
	if (!rl_enabled(rl))
		return 0;
	uint64_t now = rl_now(rl);
	tb_refill(&rl->bw, now);
	tb_refill(&rl->ops, now);
	uint64_t a = tb_wait(&rl->bw, bytes), b = tb_wait(&rl->ops, ops);
	return a > b ? a : b;
}

bool rl_consume(struct ratelimit *rl, uint64_t bytes, uint64_t ops)
{
	uint64_t wait = rl_wait_us(rl, bytes, ops);
	if (wait == 0) {
		tb_take(&rl->bw, bytes);
		tb_take(&rl->ops, ops);
		return true;
	}
	rl->throttled++;
	if (rl->timer_fd >= 0) {
		struct itimerspec its = {
		    .it_value = {(time_t)(wait / 1000000), (long)(wait % 1000000) * 1000}};
		timerfd_settime(rl->timer_fd, 0, &its, NULL);
	}
	return false;
}

void rl_destroy(struct ratelimit *rl)
{
	if (rl->timer_fd >= 0) {
		if (rl->loop)
			evloop_del(rl->loop, rl->timer_fd);
		close(rl->timer_fd);
	}
	rl->timer_fd = -1;
}

static void tb_save(const struct tbucket *b, struct vwr *w)
{
	vwr_u8(w, b->enabled);
	vwr_u64(w, b->size);
	vwr_u64(w, b->one_time_burst);
	vwr_u64(w, b->refill_us);
	/* Remaining tokens (rounded down) and burst. */
	vwr_u64(w, b->budget > 0 && b->refill_us ? (uint64_t)(b->budget / b->refill_us) : 0);
	vwr_u64(w, b->burst_left);
}

static void tb_restore(struct tbucket *b, struct vrd *r, uint64_t now)
{
	b->enabled = vrd_u8(r) != 0;
	b->size = vrd_u64(r);
	b->one_time_burst = vrd_u64(r);
	b->refill_us = vrd_u64(r);
	uint64_t tokens = vrd_u64(r);
	b->burst_left = vrd_u64(r);
	if (b->enabled && (b->size == 0 || b->refill_us == 0 || tokens > b->size))
		r->err = -EINVAL;
	b->budget = (__int128)tokens * b->refill_us;
	b->last_us = now;
}

void rl_save(const struct ratelimit *rl, struct vwr *w)
{
	tb_save(&rl->bw, w);
	tb_save(&rl->ops, w);
}

void rl_restore(struct ratelimit *rl, struct vrd *r)
{
	uint64_t now = rl_now(rl);
	tb_restore(&rl->bw, r, now);
	tb_restore(&rl->ops, r, now);
}
