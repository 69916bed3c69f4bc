/* SPDX-License-Identifier: Apache-2.0 */
/* metrics: Firecracker-named metrics, written as one JSON line to a file or FIFO. */
#include "api/api.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Which Firecracker counter a request kind feeds: group + name ("" = not counted). */
static const struct {
	enum api_metric_group g;
	const char *name;
	bool has_fails;
} counter_of[API_KIND_COUNT] = {
    [API_GET_ROOT] = {API_MET_GET, "instance_info", false},
    [API_GET_VERSION] = {API_MET_GET, "vmm_version", false},
    [API_GET_MACHINE] = {API_MET_GET, "machine_cfg", false},
    [API_GET_MMDS] = {API_MET_GET, "mmds", false},
    [API_GET_VM_CONFIG] = {API_MET_GET, "vm_config", false},
    [API_GET_BALLOON] = {API_MET_GET, "balloon", false},
    [API_GET_BALLOON_STATS] = {API_MET_GET, "balloon_stats", false},
    [API_START] = {API_MET_PUT, "actions", true},
    [API_SEND_CAD] = {API_MET_PUT, "actions", true},
    [API_FLUSH_METRICS] = {API_MET_PUT, "actions", true},
    [API_PUT_BOOT] = {API_MET_PUT, "boot_source", true},
    [API_PUT_MACHINE] = {API_MET_PUT, "machine_cfg", true},
    [API_PUT_DRIVE] = {API_MET_PUT, "drive", true},
    [API_PUT_NET] = {API_MET_PUT, "network", true},
    [API_PUT_VSOCK] = {API_MET_PUT, "vsock", true},
    [API_PUT_ENTROPY] = {API_MET_PUT, "entropy", true},
    [API_PUT_BALLOON] = {API_MET_PUT, "balloon", true},
    [API_PUT_LOGGER] = {API_MET_PUT, "logger", true},
    [API_PUT_METRICS] = {API_MET_PUT, "metrics", true},
    [API_PUT_MMDS] = {API_MET_PUT, "mmds", true},
    [API_PUT_MMDS_CONFIG] = {API_MET_PUT, "mmds", true},
    [API_PUT_SERIAL] = {API_MET_PUT, "serial", true},
    [API_PUT_CPU_CONFIG] = {API_MET_PUT, "cpu_cfg", true},
    [API_SNAP_CREATE] = {API_MET_PUT, "snapshot_create", true},
    [API_SNAP_LOAD] = {API_MET_PUT, "snapshot_load", true},
    [API_PATCH_MACHINE] = {API_MET_PATCH, "machine_cfg", true},
    [API_PATCH_DRIVE] = {API_MET_PATCH, "drive", true},
    [API_PATCH_NET] = {API_MET_PATCH, "network", true},
    [API_PATCH_BALLOON] = {API_MET_PATCH, "balloon", true},
    [API_PATCH_BALLOON_STATS] = {API_MET_PATCH, "balloon_stats", true},
    [API_BALLOON_HINTING] = {API_MET_PATCH, "balloon_hinting", true},
    [API_PATCH_MMDS] = {API_MET_PATCH, "mmds", true},
    [API_PATCH_VM] = {API_MET_PATCH, "vm", true},
};

static const char *const latency_names[] = {"full_create_snapshot",
					    "diff_create_snapshot",
					    "load_snapshot",
					    "pause_vm",
					    "resume_vm",
					    "vmm_full_create_snapshot",
					    "vmm_diff_create_snapshot",
					    "vmm_load_snapshot",
					    "vmm_pause_vm",
					    "vmm_resume_vm"};
#define N_LAT (sizeof(latency_names) / sizeof(latency_names[0]))

static struct {
	pthread_mutex_t lock;
	int fd;
	uint64_t count[API_KIND_COUNT], fails[API_KIND_COUNT];
	uint64_t count_prev[API_KIND_COUNT], fails_prev[API_KIND_COUNT];
	uint64_t lat[N_LAT];
	uint64_t deprecated, lost, lost_prev, metrics_fails, log_lost_prev;
	uint64_t startup_us, startup_cpu_us;
} g_met = {.lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1};

void api_metrics_count(enum api_kind k, bool failed)
{
	if ((unsigned)k >= API_KIND_COUNT)
		return;
	pthread_mutex_lock(&g_met.lock);
	g_met.count[k]++;
	if (failed)
		g_met.fails[k]++;
	pthread_mutex_unlock(&g_met.lock);
}

void api_metrics_deprecated(void)
{
	__atomic_add_fetch(&g_met.deprecated, 1, __ATOMIC_RELAXED);
}

void api_metrics_latency(const char *name, uint64_t us)
{
	for (size_t i = 0; i < N_LAT; i++)
		if (strcmp(latency_names[i], name) == 0)
			__atomic_store_n(&g_met.lat[i], us, __ATOMIC_RELAXED);
}

void api_metrics_startup(uint64_t us, uint64_t cpu_us)
{
	pthread_mutex_lock(&g_met.lock);
	g_met.startup_us = us;
	g_met.startup_cpu_us = cpu_us;
	pthread_mutex_unlock(&g_met.lock);
}

int api_metrics_open(const char *path)
{
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	pthread_mutex_lock(&g_met.lock);
	if (g_met.fd >= 0)
		close(g_met.fd);
	g_met.fd = fd;
	pthread_mutex_unlock(&g_met.lock);
	return 0;
}

bool api_metrics_is_open(void)
{
	return __atomic_load_n(&g_met.fd, __ATOMIC_RELAXED) >= 0;
}

uint64_t api_metrics_lost(void)
{
	return __atomic_load_n(&g_met.lost, __ATOMIC_RELAXED);
}

static json_t *group_json(enum api_metric_group g)
{
	json_t *o = json_object();
	char key[96];
	for (int k = 0; k < API_KIND_COUNT; k++) {
		if (!counter_of[k].name || counter_of[k].g != g)
			continue;
		snprintf(key, sizeof(key), "%s_count", counter_of[k].name);
		json_int_t prev = json_integer_value(json_object_get(o, key));
		json_object_set_new(
		    o, key,
		    json_integer(prev + (json_int_t)(g_met.count[k] - g_met.count_prev[k])));
		if (!counter_of[k].has_fails)
			continue;
		snprintf(key, sizeof(key), "%s_fails", counter_of[k].name);
		prev = json_integer_value(json_object_get(o, key));
		json_object_set_new(
		    o, key,
		    json_integer(prev + (json_int_t)(g_met.fails[k] - g_met.fails_prev[k])));
	}
	return o;
}

/* Caller holds the lock. Builds the document and advances the delta baselines. */
static char *render_locked(void)
{
	struct timespec ts;
	json_t *lat = json_object();
	for (size_t i = 0; i < N_LAT; i++)
		json_object_set_new(lat, latency_names[i], json_integer((json_int_t)g_met.lat[i]));
	uint64_t log_lost = log_lost_count();
	json_t *logger = json_pack(
	    "{s:I,s:I,s:I,s:I}", "missed_metrics_count", (json_int_t)(g_met.lost - g_met.lost_prev),
	    "metrics_fails", (json_int_t)g_met.metrics_fails, "missed_log_count",
	    (json_int_t)(log_lost - g_met.log_lost_prev), "log_fails", (json_int_t)0);
	clock_gettime(CLOCK_REALTIME, &ts);
	json_t *doc =
	    json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:{s:I,s:I}}", "utc_timestamp_ms",
		      (json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, "get_api_requests",
		      group_json(API_MET_GET), "put_api_requests", group_json(API_MET_PUT),
		      "patch_api_requests", group_json(API_MET_PATCH), "latencies_us", lat,
		      "logger", logger, "deprecated_api", "deprecated_http_api_calls",
		      (json_int_t)g_met.deprecated, "deprecated_cmd_line_api_calls", (json_int_t)0);
	if (doc)
		json_object_set_new(
		    doc, "api_server",
		    json_pack("{s:I,s:I}", "process_startup_time_us", (json_int_t)g_met.startup_us,
			      "process_startup_time_cpu_us", (json_int_t)g_met.startup_cpu_us));
	char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	memcpy(g_met.count_prev, g_met.count, sizeof(g_met.count));
	memcpy(g_met.fails_prev, g_met.fails, sizeof(g_met.fails));
	g_met.lost_prev = g_met.lost;
	g_met.log_lost_prev = log_lost;
	g_met.deprecated = 0;
	return s;
}

char *api_metrics_render(void)
{
	pthread_mutex_lock(&g_met.lock);
	char *s = render_locked();
	pthread_mutex_unlock(&g_met.lock);
	return s;
}

int api_metrics_flush(void)
{
	int rc = 0;
	pthread_mutex_lock(&g_met.lock);
	if (g_met.fd < 0) {
		pthread_mutex_unlock(&g_met.lock);
		return -ENODEV;
	}
	char *s = render_locked();
	if (!s) {
		pthread_mutex_unlock(&g_met.lock);
		return -ENOMEM;
	}
	size_t n = strlen(s);
	s[n] = '\n'; /* overwrite the NUL: we write n + 1 bytes */
	ssize_t w = write(g_met.fd, s, n + 1);
	if (w != (ssize_t)(n + 1)) {
		g_met.lost++; /* a full FIFO drops the line: lost-metrics */
		g_met.metrics_fails++;
		rc = -EAGAIN;
	}
	pthread_mutex_unlock(&g_met.lock);
	free(s);
	return rc;
}
