/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-balloon: inflate/deflate, statistics polling, free page reporting. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "virtio/vdev.h"

#define BAL_F_STATS_VQ 1
#define BAL_F_DEFLATE_ON_OOM 2
#define BAL_F_FREE_PAGE_HINT 3
#define BAL_CMD_STOP 0u
#define BAL_CMD_DONE 1u
#define BAL_F_REPORTING 5
#define BAL_PFN_SHIFT 12
#define PAGES_PER_MIB 256u

struct vballoon {
	struct vdev vd; /* first */
	struct balloon_cfg cfg;
	uint32_t num_pages, actual_pages;
	int q_stats, q_hint, q_report; /* queue indices, -1 if absent */
	uint32_t host_cmd, guest_cmd;  /* free page hinting */
	uint32_t last_run;
	bool has_guest_cmd, ack_on_stop;
	int stats_head;	 /* held statistics chain, -1 if none */
	bool shared_mem; /* RAM is a memfd: MADV_REMOVE frees it */
	int timer_fd;
	bool has[VIRTIO_BALLOON_NSTATS];
	uint64_t val[VIRTIO_BALLOON_NSTATS];
	uint64_t inflated_pages, discarded_bytes;
};

static const char *const stat_names[VIRTIO_BALLOON_NSTATS] = {
    "swap_in",	      "swap_out",	  "major_faults", "minor_faults",	 "free_memory",
    "total_memory",   "available_memory", "disk_caches",  "hugetlb_allocations", "hugetlb_failures",
    "oom_kill",	      "alloc_stall",	  "async_scan",	  "direct_scan",	 "async_reclaim",
    "direct_reclaim",
};

const char *virtio_balloon_stat_name(unsigned tag)
{
	return tag < VIRTIO_BALLOON_NSTATS ? stat_names[tag] : NULL;
}

/* Give [gpa, gpa+len) back to the host. Pages are marked dirty: they now read as zero. */
static void bal_discard(struct vballoon *b, uint64_t gpa, uint64_t len)
{
	uint8_t *h = gmem_ptr_w(b->vd.env.mem, gpa, len);
	if (!h || (gpa & (PAGE_SIZE - 1)) || (len & (PAGE_SIZE - 1)) || !len)
		return;
	int rc = madvise(h, len, b->shared_mem ? MADV_REMOVE : MADV_DONTNEED);
	if (rc < 0)
		LOG_WARNING("virtio-balloon: madvise of 0x%llx+0x%llx failed",
			    (unsigned long long)gpa, (unsigned long long)len);
	else
		b->discarded_bytes += len;
}

/* Inflate: the readable part is an array of u32 PFNs; contiguous runs are discarded
 * together. */
static void bal_inflate(struct vballoon *b, const struct virtq_elem *e, struct virtq *q)
{
	uint64_t run_start = 0, run_len = 0;
	for (uint64_t off = 0; off + 4 <= e->out_len; off += 4) {
		uint32_t pfn;
		if (virtq_elem_read(q, e, off, &pfn, 4) != 4)
			break;
		uint64_t gpa = (uint64_t)le32toh(pfn) << BAL_PFN_SHIFT;
		b->inflated_pages++;
		if (run_len && gpa == run_start + run_len) {
			run_len += PAGE_SIZE;
			continue;
		}
		if (run_len)
			bal_discard(b, run_start, run_len);
		run_start = gpa;
		run_len = PAGE_SIZE;
	}
	if (run_len)
		bal_discard(b, run_start, run_len);
}

static void bal_stats_parse(struct vballoon *b, const struct virtq_elem *e, struct virtq *q)
{
	uint8_t ent[10];
	for (uint64_t off = 0; off + 10 <= e->out_len; off += 10) {
		if (virtq_elem_read(q, e, off, ent, 10) != 10)
			break;
		uint16_t tag;
		uint64_t v;
		memcpy(&tag, ent, 2);
		memcpy(&v, ent + 2, 8);
		tag = le16toh(tag);
		if (tag < VIRTIO_BALLOON_NSTATS) {
			b->has[tag] = true;
			b->val[tag] = le64toh(v);
		}
	}
}

/* Free page hinting: a readable u32 is the guest's command id (a run's id, or STOP when it
 * is done); writable buffers are free pages of the current run. */
static void bal_hint(struct vballoon *b, const struct virtq_elem *e, struct virtq *q)
{
	uint32_t cmd;
	if (e->out_len >= 4 && virtq_elem_read(q, e, 0, &cmd, 4) == 4) {
		b->guest_cmd = le32toh(cmd);
		b->has_guest_cmd = true;
		if (b->guest_cmd == BAL_CMD_STOP && b->ack_on_stop && b->host_cmd > BAL_CMD_DONE) {
			b->host_cmd = BAL_CMD_DONE;
			vdev_config_changed(&b->vd);
		}
	}
	if (b->host_cmd <= BAL_CMD_DONE || b->guest_cmd != b->host_cmd)
		return; /* not inside the run the host asked for */
	for (uint16_t i = e->n_out; i < e->n_out + e->n_in; i++)
		bal_discard(b, e->buf[i].gpa, e->buf[i].len);
}

static void bal_notify(struct vdev *vd, uint16_t qi)
{
	struct vballoon *b = (struct vballoon *)vd;
	struct virtq *q = &vd->q[qi];
	bool any = false;
	for (;;) {
		int rc = virtq_pop(q, &vd->elem);
		if (rc < 0) {
			vdev_fail(vd, "balloon queue malformed");
			return;
		}
		if (rc == 0)
			break;
		if (qi == 0) {
			bal_inflate(b, &vd->elem, q);
		} else if (qi == b->q_stats) {
			bal_stats_parse(b, &vd->elem, q);
			if (b->stats_head >= 0) /* a second buffer: return the older one */
				virtq_push(q, (uint16_t)b->stats_head, 0);
			b->stats_head = vd->elem.head;
			continue; /* held until the next poll */
		} else if (qi == b->q_hint) {
			bal_hint(b, &vd->elem, q);
		} else if (qi == b->q_report) {
			const struct virtq_elem *e = &vd->elem;
			for (uint16_t i = 0; i < e->n_out + e->n_in; i++)
				bal_discard(b, e->buf[i].gpa, e->buf[i].len);
		}
		/* deflate: nothing to do, the pages fault back in on access. */
		virtq_push(q, vd->elem.head, 0);
		any = true;
	}
	if (any)
		vdev_signal_used(vd, qi);
}

void virtio_balloon_poll_stats(struct dev *d)
{
	struct vdev *vd = vdev_from_dev(d, VIRTIO_KIND_BALLOON);
	if (!vd)
		return;
	struct vballoon *b = (struct vballoon *)vd;
	pthread_mutex_lock(&vd->lock);
	if (b->q_stats >= 0 && b->stats_head >= 0 && vd->activated && !vd->paused) {
		virtq_push(&vd->q[b->q_stats], (uint16_t)b->stats_head, 0);
		b->stats_head = -1;
		vdev_signal_used(vd, (uint16_t)b->q_stats);
	}
	pthread_mutex_unlock(&vd->lock);
}

static void bal_timer_cb(void *arg, uint32_t events)
{
	struct vballoon *b = arg;
	uint64_t n;
	if (read(b->timer_fd, &n, sizeof(n)) < 0)
		return;
	virtio_balloon_poll_stats(&b->vd.dev);
}

static void bal_timer_arm(struct vballoon *b)
{
	if (b->timer_fd < 0)
		return;
	time_t s = b->cfg.stats_polling_interval_s;
	struct itimerspec its = {.it_interval = {s, 0}, .it_value = {s, 0}};
	timerfd_settime(b->timer_fd, 0, &its, NULL);
}

static void bal_config_read(struct vdev *vd, uint64_t off, uint8_t *data, uint32_t len)
{
	struct vballoon *b = (struct vballoon *)vd;
	uint32_t cfg[4] = {htole32(b->num_pages), htole32(b->actual_pages), htole32(b->host_cmd),
			   0};
	const uint8_t *p = (const uint8_t *)cfg;
	for (uint32_t i = 0; i < len; i++)
		data[i] = off + i < sizeof(cfg) ? p[off + i] : 0;
}

static void bal_config_write(struct vdev *vd, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct vballoon *b = (struct vballoon *)vd;
	/* Only `actual` (bytes 4..7) is driver-writable. */
	if (off < 4 || off + len > 8)
		return;
	uint32_t v = htole32(b->actual_pages);
	memcpy((uint8_t *)&v + (off - 4), data, len);
	b->actual_pages = le32toh(v);
}

static void bal_reset(struct vdev *vd)
{
	struct vballoon *b = (struct vballoon *)vd;
	b->stats_head = -1;
	b->actual_pages = 0;
}

static int bal_save(struct vdev *vd, struct vwr *w)
{
	struct vballoon *b = (struct vballoon *)vd;
	vwr_u32(w, b->cfg.stats_polling_interval_s);
	vwr_u32(w, (uint32_t)b->stats_head);
	vwr_u32(w, b->num_pages);
	vwr_u32(w, b->actual_pages);
	for (int i = 0; i < VIRTIO_BALLOON_NSTATS; i++) {
		vwr_u8(w, b->has[i]);
		vwr_u64(w, b->val[i]);
	}
	vwr_u32(w, b->host_cmd);
	vwr_u32(w, b->last_run);
	vwr_u8(w, b->has_guest_cmd);
	vwr_u32(w, b->guest_cmd);
	vwr_u8(w, b->ack_on_stop);
	return w->err;
}

static int bal_restore(struct vdev *vd, struct vrd *r)
{
	struct vballoon *b = (struct vballoon *)vd;
	b->cfg.stats_polling_interval_s = vrd_u32(r);
	int32_t head = (int32_t)vrd_u32(r);
	b->num_pages = vrd_u32(r);
	b->actual_pages = vrd_u32(r);
	for (int i = 0; i < VIRTIO_BALLOON_NSTATS; i++) {
		b->has[i] = vrd_u8(r) != 0;
		b->val[i] = vrd_u64(r);
	}
	b->host_cmd = vrd_u32(r);
	b->last_run = vrd_u32(r);
	b->has_guest_cmd = vrd_u8(r) != 0;
	b->guest_cmd = vrd_u32(r);
	b->ack_on_stop = vrd_u8(r) != 0;
	if (head < -1 || (b->q_stats >= 0 && head >= vd->q[b->q_stats].size))
		r->err = -EINVAL;
	b->stats_head = head;
	if (!r->err && b->cfg.stats_polling_interval_s)
		bal_timer_arm(b);
	return r->err;
}

static void bal_destroy(struct vdev *vd)
{
	struct vballoon *b = (struct vballoon *)vd;
	if (b->timer_fd >= 0) {
		if (vd->env.loop)
			evloop_del(vd->env.loop, b->timer_fd);
		close(b->timer_fd);
	}
}

static const struct vdev_ops bal_ops = {
    .kind = "virtio-balloon",
    .device_id = VIRTIO_KIND_BALLOON,
    .config_read = bal_config_read,
    .config_write = bal_config_write,
    .notify = bal_notify,
    .reset = bal_reset,
    .save = bal_save,
    .restore = bal_restore,
    .destroy = bal_destroy,
};

static int bal_timer_setup(struct vballoon *b)
{
	if (!b->vd.env.loop || !b->cfg.stats_polling_interval_s)
		return 0;
	b->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (b->timer_fd < 0)
		return -errno;
	int rc = evloop_add(b->vd.env.loop, b->timer_fd, EPOLLIN, bal_timer_cb, b);
	if (rc) {
		close(b->timer_fd);
		b->timer_fd = -1;
		return rc;
	}
	bal_timer_arm(b);
	return 0;
}

int virtio_balloon_create(const struct virtio_env *env, const struct balloon_cfg *cfg,
			  uint64_t base, uint32_t gsi, struct dev **out)
{
	if (cfg->amount_mib > UINT32_MAX / PAGES_PER_MIB)
		return -EINVAL;
	struct vballoon *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->cfg = *cfg;
	b->timer_fd = -1;
	b->stats_head = -1;
	b->q_stats = b->q_hint = b->q_report = -1;
	b->num_pages = cfg->amount_mib * PAGES_PER_MIB;
	uint64_t feat = 0;
	uint16_t nq = 2;
	if (cfg->deflate_on_oom)
		feat |= 1ULL << BAL_F_DEFLATE_ON_OOM;
	if (cfg->stats_polling_interval_s) {
		feat |= 1ULL << BAL_F_STATS_VQ;
		b->q_stats = nq++;
	}
	if (cfg->free_page_hinting) {
		feat |= 1ULL << BAL_F_FREE_PAGE_HINT;
		b->q_hint = nq++;
	}
	if (cfg->free_page_reporting) {
		feat |= 1ULL << BAL_F_REPORTING;
		b->q_report = nq++;
	}
	b->shared_mem = env->mem && env->mem->fd >= 0 && fcntl(env->mem->fd, F_GET_SEALS) >= 0;
	int rc = vdev_init(&b->vd, &bal_ops, env, "balloon", nq, VIRTQ_MAX_SIZE, feat, base, gsi);
	if (!rc)
		rc = bal_timer_setup(b);
	if (rc) {
		vdev_free(&b->vd);
		return rc;
	}
	*out = &b->vd.dev;
	return 0;
}

int virtio_balloon_target(struct dev *d, uint32_t amount_mib)
{
	struct vdev *vd = vdev_from_dev(d, VIRTIO_KIND_BALLOON);
	if (!vd)
		return -ENODEV;
	struct vballoon *b = (struct vballoon *)vd;
	if (amount_mib > UINT32_MAX / PAGES_PER_MIB)
		return -EINVAL; /* the page count must fit the u32 num_pages field */
	pthread_mutex_lock(&vd->lock);
	b->cfg.amount_mib = amount_mib;
	b->num_pages = amount_mib * PAGES_PER_MIB;
	if (vd->activated)
		vdev_config_changed(vd);
	pthread_mutex_unlock(&vd->lock);
	return 0;
}

int virtio_balloon_interval(struct dev *d, uint32_t interval_s)
{
	struct vdev *vd = vdev_from_dev(d, VIRTIO_KIND_BALLOON);
	if (!vd)
		return -ENODEV;
	struct vballoon *b = (struct vballoon *)vd;
	int rc = 0;
	pthread_mutex_lock(&vd->lock);
	if (interval_s != b->cfg.stats_polling_interval_s) {
		if (!interval_s || !b->cfg.stats_polling_interval_s) {
			rc = -EINVAL; /* statistics cannot be switched on or off after boot */
		} else {
			b->cfg.stats_polling_interval_s = interval_s;
			bal_timer_arm(b);
		}
	}
	pthread_mutex_unlock(&vd->lock);
	if (!rc && interval_s)
		virtio_balloon_poll_stats(d); /* the first update is requested immediately */
	return rc;
}

int virtio_balloon_stats(struct dev *d, struct virtio_balloon_stats *out)
{
	struct vdev *vd = vdev_from_dev(d, VIRTIO_KIND_BALLOON);
	if (!vd)
		return -ENODEV;
	struct vballoon *b = (struct vballoon *)vd;
	if (b->q_stats < 0)
		return -ENOTSUP;
	pthread_mutex_lock(&vd->lock);
	memset(out, 0, sizeof(*out));
	out->target_pages = b->num_pages;
	out->actual_pages = b->actual_pages;
	out->target_mib = b->num_pages / PAGES_PER_MIB;
	out->actual_mib = b->actual_pages / PAGES_PER_MIB;
	memcpy(out->has, b->has, sizeof(out->has));
	memcpy(out->val, b->val, sizeof(out->val));
	pthread_mutex_unlock(&vd->lock);
	return 0;
}

static struct vballoon *bal_hint_dev(struct dev *d, int *rc)
{
	struct vdev *vd = vdev_from_dev(d, VIRTIO_KIND_BALLOON);
	*rc = !vd ? -ENODEV : ((struct vballoon *)vd)->q_hint < 0 ? -ENOTSUP : 0;
	return *rc ? NULL : (struct vballoon *)vd;
}

int virtio_balloon_hint_start(struct dev *d, bool acknowledge_on_stop)
{
	int rc;
	struct vballoon *b = bal_hint_dev(d, &rc);
	if (!b)
		return rc;
	pthread_mutex_lock(&b->vd.lock);
	/* A fresh run id each time, never STOP or DONE. */
	b->last_run = b->last_run <= BAL_CMD_DONE ? BAL_CMD_DONE + 1 : b->last_run + 1;
	if (b->last_run <= BAL_CMD_DONE)
		b->last_run = BAL_CMD_DONE + 1;
	b->host_cmd = b->last_run;
	b->ack_on_stop = acknowledge_on_stop;
	if (b->vd.activated)
		vdev_config_changed(&b->vd);
	pthread_mutex_unlock(&b->vd.lock);
	return 0;
}

int virtio_balloon_hint_stop(struct dev *d)
{
	int rc;
	struct vballoon *b = bal_hint_dev(d, &rc);
	if (!b)
		return rc;
	pthread_mutex_lock(&b->vd.lock);
	b->host_cmd = BAL_CMD_DONE;
	if (b->vd.activated)
		vdev_config_changed(&b->vd);
	pthread_mutex_unlock(&b->vd.lock);
	return 0;
}

int virtio_balloon_hint_status(struct dev *d, struct virtio_balloon_hinting *out)
{
	int rc;
	struct vballoon *b = bal_hint_dev(d, &rc);
	if (!b)
		return rc;
	pthread_mutex_lock(&b->vd.lock);
	out->host_cmd = b->host_cmd;
	out->has_guest_cmd = b->has_guest_cmd;
	out->guest_cmd = b->guest_cmd;
	pthread_mutex_unlock(&b->vd.lock);
	return 0;
}
