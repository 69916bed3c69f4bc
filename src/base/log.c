/* SPDX-License-Identifier: Apache-2.0 */
/* log: Firecracker-format log lines "<ts> [<id>:<thread>(:LEVEL:file:line)] msg". */
#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static struct {
	pthread_mutex_t lock;
	int fd;
	enum log_level level;
	bool show_level, show_origin;
	char id[65];
	uint64_t lost;
	char module[128]; /* "" = every module; else only lines whose origin file contains it */
} g_log = {PTHREAD_MUTEX_INITIALIZER, 2, LOG_WARN, false, false, "anonymous-instance", 0, ""};

/* Declared in api/api.h (the logger's `module` filter of PUT /logger and --module). */
void log_set_module(const char *module);
void log_set_module(const char *module)
{
	pthread_mutex_lock(&g_log.lock);
	snprintf(g_log.module, sizeof(g_log.module), "%s", module ? module : "");
	pthread_mutex_unlock(&g_log.lock);
}

static const char *const level_names[] = {"OFF", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"};

int log_level_parse(const char *s, enum log_level *out)
{
	static const struct {
		const char *name;
		enum log_level lvl;
	} map[] = {{"off", LOG_OFF},	{"error", LOG_ERROR}, {"warning", LOG_WARN},
		   {"warn", LOG_WARN},	{"info", LOG_INFO},   {"debug", LOG_DEBUG},
		   {"trace", LOG_TRACE}};
	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		if (strcasecmp(s, map[i].name) == 0) {
			*out = map[i].lvl;
			return 0;
		}
	}
	return -EINVAL;
}

int log_configure(const char *path, enum log_level level, bool show_level, bool show_origin)
{
	int fd = 2;
	if (path && *path) {
		/* O_NONBLOCK so a full FIFO drops lines instead of stalling the VMM; O_RDWR so a
		 * FIFO opens even before its reader does (as Firecracker). */
		fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
	}
	pthread_mutex_lock(&g_log.lock);
	if (g_log.fd > 2)
		close(g_log.fd);
	g_log.fd = fd;
	g_log.level = level;
	g_log.show_level = show_level;
	g_log.show_origin = show_origin;
	pthread_mutex_unlock(&g_log.lock);
	return 0;
}

void log_set_instance_id(const char *id)
{
	pthread_mutex_lock(&g_log.lock);
	snprintf(g_log.id, sizeof(g_log.id), "%s", id);
	pthread_mutex_unlock(&g_log.lock);
}

uint64_t log_lost_count(void)
{
	return __atomic_load_n(&g_log.lost, __ATOMIC_RELAXED);
}

static size_t log_prefix(char *buf, size_t cap, enum log_level lvl, const char *file, int line)
{
	struct timespec ts;
	struct tm tm;
	char thread[16] = "main";
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	pthread_getname_np(pthread_self(), thread, sizeof(thread));
	int n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%09ld [%s:%s", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec,
			 g_log.id, thread);
	if (g_log.show_level)
		n += snprintf(buf + n, cap - n, ":%s", level_names[lvl]);
	if (g_log.show_origin)
		n += snprintf(buf + n, cap - n, ":%s:%d", file, line);
	n += snprintf(buf + n, cap - n, "] ");
	return (size_t)n;
}

void log_emit(enum log_level lvl, const char *file, int line, const char *fmt, ...)
{
	char buf[1024];
	if (lvl == LOG_OFF || lvl > g_log.level)
		return;
	pthread_mutex_lock(&g_log.lock);
	if (g_log.module[0] && !strstr(file, g_log.module)) {
		pthread_mutex_unlock(&g_log.lock);
		return;
	}
	size_t n = log_prefix(buf, sizeof(buf) - 2, lvl, file, line);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += (size_t)m < sizeof(buf) - n - 1 ? (size_t)m : sizeof(buf) - n - 2;
	buf[n++] = '\n';
	if (write(g_log.fd, buf, n) != (ssize_t)n)
		__atomic_add_fetch(&g_log.lost, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&g_log.lock);
}
