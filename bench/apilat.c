/* SPDX-License-Identifier: Apache-2.0 */
/* apilat: request latency over a Unix socket, for squib's HTTP API or QEMU's QMP.
 * usage: apilat http SOCK METHOD PATH [BODY] N | apilat qmp SOCK N
 * prints "p50_us=<x> p99_us=<y> max_us=<z> n=<N>". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read one HTTP response (headers + Content-Length body). Returns 0 or -1. */
static int read_http(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r <= 0)
			return -1;
		n += (size_t)r;
		buf[n] = 0;
		char *end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		size_t hdr = (size_t)(end - buf) + 4;
		size_t clen = 0;
		char *cl = strcasestr(buf, "content-length:");
		if (cl && cl < end)
			clen = strtoul(cl + 15, NULL, 10);
		if (n >= hdr + clen)
			return 0;
	}
}

/* Read QMP lines until one carries "return" (events and the greeting are skipped). */
static int read_qmp(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r <= 0)
			return -1;
		n += (size_t)r;
		buf[n] = 0;
		char *nl;
		while ((nl = strchr(buf, '\n'))) {
			*nl = 0;
			int is_ret = strstr(buf, "\"return\"") != NULL;
			size_t used = (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, n - used + 1);
			n -= used;
			if (is_ret)
				return 0;
		}
	}
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(double *lat, int n)
{
	qsort(lat, (size_t)n, sizeof(double), cmp_d);
	printf("p50_us=%.1f p99_us=%.1f max_us=%.1f n=%d\n", lat[n / 2], lat[(n * 99) / 100],
	       lat[n - 1], n);
}

int main(int argc, char **argv)
{
	static char buf[65536], req[8192];
	if (argc < 4)
		return fprintf(stderr, "usage: see header\n"), 2;
	int qmp = strcmp(argv[1], "qmp") == 0;
	int n = atoi(argv[argc - 1]);
	if (n <= 0)
		return 2;
	double *lat = calloc((size_t)n, sizeof(double));
	int fd = connect_unix(argv[2]);
	if (fd < 0 || !lat)
		return perror("connect"), 1;
	size_t len;
	if (qmp) {
		const char *cap = "{\"execute\":\"qmp_capabilities\"}\n";
		if (write(fd, cap, strlen(cap)) < 0 || read_qmp(fd, buf, sizeof(buf)) < 0)
			return 1;
		len = (size_t)snprintf(req, sizeof(req), "{\"execute\":\"query-status\"}\n");
	} else {
		const char *body = argc == 7 ? argv[5] : "";
		len = (size_t)snprintf(
		    req, sizeof(req),
		    "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n"
		    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		    argv[3], argv[4], strlen(body), body);
	}
	for (int i = 0; i < n; i++) {
		double t0 = now_us();
		if (write(fd, req, len) != (ssize_t)len)
			return perror("write"), 1;
		if ((qmp ? read_qmp(fd, buf, sizeof(buf)) : read_http(fd, buf, sizeof(buf))) < 0)
			return fprintf(stderr, "read failed at %d\n", i), 1;
		lat[i] = now_us() - t0;
	}
	report(lat, n);
	return 0;
}
