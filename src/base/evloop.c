/* SPDX-License-Identifier: Apache-2.0 */
/* evloop: a small epoll dispatcher owned by the VMM thread. */
#include "base/base.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define EVLOOP_MAX 256

struct evloop_entry {
	int fd;
	evloop_cb cb;
	void *arg;
};

struct evloop {
	int epfd;
	struct evloop_entry e[EVLOOP_MAX];
};

int evloop_create(struct evloop **out)
{
	struct evloop *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int err = -errno;
		free(l);
		return err;
	}
	for (int i = 0; i < EVLOOP_MAX; i++)
		l->e[i].fd = -1;
	*out = l;
	return 0;
}

void evloop_destroy(struct evloop *l)
{
	if (!l)
		return;
	close(l->epfd);
	free(l);
}

int evloop_add(struct evloop *l, int fd, uint32_t events, evloop_cb cb, void *arg)
{
	for (int i = 0; i < EVLOOP_MAX; i++) {
		if (l->e[i].fd != -1)
			continue;
		struct epoll_event ev = {.events = events, .data.u32 = (uint32_t)i};
		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			return -errno;
		l->e[i] = (struct evloop_entry){fd, cb, arg};
		return 0;
	}
	return -ENOSPC;
}

int evloop_mod(struct evloop *l, int fd, uint32_t events)
{
	for (int i = 0; i < EVLOOP_MAX; i++) {
		if (l->e[i].fd != fd)
			continue;
		struct epoll_event ev = {.events = events, .data.u32 = (uint32_t)i};
		return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
	}
	return -ENOENT;
}

int evloop_del(struct evloop *l, int fd)
{
	for (int i = 0; i < EVLOOP_MAX; i++) {
		if (l->e[i].fd == fd) {
			l->e[i].fd = -1;
			if (epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL) < 0)
				return -errno;
			return 0;
		}
	}
	return -ENOENT;
}

int evloop_run_once(struct evloop *l, int timeout_ms)
{
	struct epoll_event evs[32];
	int n = epoll_wait(l->epfd, evs, 32, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct evloop_entry *e = &l->e[evs[i].data.u32];
		if (e->fd >= 0)
			e->cb(e->arg, evs[i].events);
	}
	return n;
}

uint64_t time_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t time_cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}
