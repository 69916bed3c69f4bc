/* SPDX-License-Identifier: Apache-2.0 */
/* benchctl: start a VMM, then run timed steps against it (console matches, HTTP/QMP requests,
 * RSS), printing one "key=value" line per step. Used by the bench/ scripts (works under busybox
 * sh).
 *
 * usage: benchctl [-t TIMEOUT_MS] [-o CONSOLE_FILE] STEP... -- CMD [ARG...]
 * CMD runs with stdout on a pipe (the guest console); stderr is inherited. t=0 is just before
 * fork(). Steps, in order:
 *   first              wait for the first stdout byte after the last mark -> first_us= (its
 *                      arrival time, even if it came while an earlier step was running)
 *   match STR          wait until stdout (since the last mark) contains STR -> match_us=
 *   mark               forget console output seen so far (later matches look only after it)
 *                      -> mark_us= (when)
 *   sock PATH          wait until PATH accepts connections       -> sock_us=
 *   http SOCK METHOD PATH BODY  one request ("" = no body); 2xx required -> http_us= (duration)
 *   qmp SOCK JSON      one QMP command (capabilities negotiated on first use) -> qmp_us=
 *   qmpwait SOCK       poll query-migrate until "completed"      -> qmpwait_us= (duration)
 *   rss KB             print rss_kb= (smaps_rollup), guest_kb= (sum of Rss of the mappings
 *                      whose Size is KB..KB+8 MiB: the guest RAM), guest_maps=, other_kb=
 *   as NAME            prefix the key(s) printed by the next step with NAME_
 *   sleep MS
 *   kill               SIGKILL the child and reap it
 *   exit               wait for the child to exit                -> exit_us= exit_rc=
 * Exit status 0 if every step succeeded, 1 otherwise (the child is always killed at the end). */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double t0;
static int out_fd = -1, log_fd = -1, timeout_ms = 60000;
static pid_t child;
static char con[1 << 20];
static size_t con_len, con_mark;
static int child_done, child_rc;
static double first_t = -1; /* arrival of the first console byte after the last mark */
static const char *pfx = "";

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double rel(void)
{
	return now_us() - t0;
}

/* Read available console bytes, waiting at most wait_ms. Returns -1 on EOF. */
static int pump(int wait_ms)
{
	struct pollfd p = {.fd = out_fd, .events = POLLIN};
	if (out_fd < 0)
		return -1;
	if (poll(&p, 1, wait_ms) <= 0)
		return 0;
	char buf[65536];
	ssize_t r = read(out_fd, buf, sizeof(buf));
	if (r <= 0) {
		close(out_fd);
		out_fd = -1;
		return -1;
	}
	if (log_fd >= 0 && write(log_fd, buf, (size_t)r) < 0)
		log_fd = -1;
	if (con_len + (size_t)r >= sizeof(con)) { /* keep the tail only */
		size_t keep = sizeof(con) / 2;
		memmove(con, con + con_len - keep, keep);
		con_mark = con_mark > con_len - keep ? con_mark - (con_len - keep) : 0;
		con_len = keep;
	}
	if (first_t < 0)
		first_t = rel();
	memcpy(con + con_len, buf, (size_t)r);
	con_len += (size_t)r;
	con[con_len] = 0;
	return 1;
}

static int wait_console(const char *str, double deadline)
{
	for (;;) {
		if (str ? memmem(con + con_mark, con_len - con_mark, str, strlen(str)) != NULL
			: con_len > con_mark)
			return 0;
		if (rel() > deadline || pump(10) < 0) {
			if (str && memmem(con + con_mark, con_len - con_mark, str, strlen(str)))
				return 0;
			fprintf(stderr, "benchctl: console: no %s%s%s\n", str ? "'" : "byte",
				str ? str : "", str ? "'" : "");
			return -1;
		}
	}
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

/* Read until the buffer holds a complete HTTP response or a QMP "return"/"error" line. */
static int read_reply(int fd, int qmp, char *buf, size_t cap, double deadline)
{
	size_t n = 0;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (rel() > deadline)
			return -1;
		pump(0);
		if (poll(&p, 1, 10) <= 0)
			continue;
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r <= 0)
			return -1;
		n += (size_t)r;
		buf[n] = 0;
		if (qmp) {
			char *l = buf, *nl;
			while ((nl = strchr(l, '\n'))) {
				if (strstr(l, "\"return\"") && strstr(l, "\"return\"") < nl)
					return 0;
				if (strstr(l, "\"error\"") && strstr(l, "\"error\"") < nl)
					return fprintf(stderr, "benchctl: qmp: %.*s\n",
						       (int)(nl - l), l),
					       -1;
				l = nl + 1;
			}
			memmove(buf, l, n - (size_t)(l - buf) + 1);
			n -= (size_t)(l - buf);
			continue;
		}
		char *end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		size_t hdr = (size_t)(end - buf) + 4, clen = 0;
		char *cl = strcasestr(buf, "content-length:");
		if (cl && cl < end)
			clen = strtoul(cl + 15, NULL, 10);
		if (n >= hdr + clen)
			return 0;
	}
}

static int do_http(const char *sock, const char *method, const char *path, const char *body)
{
	char req[8192], buf[65536];
	int fd = connect_unix(sock);
	if (fd < 0)
		return fprintf(stderr, "benchctl: connect %s: %s\n", sock, strerror(errno)), -1;
	int len = snprintf(req, sizeof(req),
			   "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n"
			   "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			   method, path, strlen(body), body);
	int rc = -1;
	if (write(fd, req, (size_t)len) == len &&
	    read_reply(fd, 0, buf, sizeof(buf), rel() + timeout_ms * 1e3) == 0) {
		int status = 0;
		sscanf(buf, "HTTP/1.%*d %d", &status);
		rc = status >= 200 && status < 300 ? 0 : -1;
		if (rc)
			fprintf(stderr, "benchctl: %s %s -> %s\n", method, path, buf);
	}
	close(fd);
	return rc;
}

static int qmp_fd = -1;
static char qmp_path[108];

static int qmp_cmd(const char *sock, const char *json)
{
	char buf[65536];
	if (qmp_fd < 0 || strcmp(qmp_path, sock)) {
		if (qmp_fd >= 0)
			close(qmp_fd);
		snprintf(qmp_path, sizeof(qmp_path), "%s", sock);
		qmp_fd = connect_unix(sock);
		const char *cap = "{\"execute\":\"qmp_capabilities\"}\n";
		if (qmp_fd < 0 || write(qmp_fd, cap, strlen(cap)) < 0 ||
		    read_reply(qmp_fd, 1, buf, sizeof(buf), rel() + timeout_ms * 1e3))
			return fprintf(stderr, "benchctl: qmp connect %s failed\n", sock), -1;
	}
	if (write(qmp_fd, json, strlen(json)) < 0 || write(qmp_fd, "\n", 1) < 0)
		return -1;
	return read_reply(qmp_fd, 1, buf, sizeof(buf), rel() + timeout_ms * 1e3);
}

static int qmp_wait_migrate(const char *sock)
{
	char buf[65536];
	double deadline = rel() + timeout_ms * 1e3;
	if (qmp_cmd(sock, "{\"execute\":\"query-status\"}"))
		return -1;
	while (rel() < deadline) {
		const char *q = "{\"execute\":\"query-migrate\"}\n";
		if (write(qmp_fd, q, strlen(q)) < 0)
			return -1;
		/* keep the whole reply line: read_reply consumes it, so read by hand */
		size_t n = 0;
		for (;;) {
			struct pollfd p = {.fd = qmp_fd, .events = POLLIN};
			pump(0);
			if (rel() > deadline)
				return -1;
			if (poll(&p, 1, 10) <= 0)
				continue;
			ssize_t r = read(qmp_fd, buf + n, sizeof(buf) - n - 1);
			if (r <= 0)
				return -1;
			n += (size_t)r;
			buf[n] = 0;
			if (strstr(buf, "\"return\"") && strchr(strstr(buf, "\"return\""), '\n'))
				break;
		}
		if (strstr(buf, "\"completed\""))
			return 0;
		if (strstr(buf, "\"failed\"") || strstr(buf, "\"cancelled\""))
			return fprintf(stderr, "benchctl: migration: %s\n", buf), -1;
		usleep(1000);
	}
	return -1;
}

static int do_rss(long guest_kb_min)
{
	char path[64], line[512];
	long rss = -1, guest = 0, size = 0, maps = 0;
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)child);
	FILE *f = fopen(path, "r");
	if (!f)
		return perror(path), -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Rss: %ld kB", &rss) == 1)
			break;
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)child);
	if (!(f = fopen(path, "r")))
		return perror(path), -1;
	long v;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Size: %ld kB", &v) == 1)
			size = v;
		else if (sscanf(line, "Rss: %ld kB", &v) == 1 && size >= guest_kb_min &&
			 size <= guest_kb_min + 8192) {
			guest += v;
			maps++;
		}
	}
	fclose(f);
	printf("rss_kb=%ld guest_kb=%ld guest_maps=%ld other_kb=%ld\n", rss, guest, maps,
	       rss - guest);
	return rss < 0 ? -1 : 0;
}

static void reap(int block)
{
	int st;
	if (child_done || child <= 0)
		return;
	if (waitpid(child, &st, block ? 0 : WNOHANG) == child) {
		child_done = 1;
		child_rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
}

static int wait_exit(double deadline)
{
	while (rel() < deadline) {
		pump(5);
		reap(0);
		if (child_done)
			return 0;
	}
	return -1;
}

int main(int argc, char **argv)
{
	int i = 1, sep = 0;
	const char *logf = NULL;
	for (; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--"); i += 2) {
		if (i + 1 >= argc)
			return 2;
		if (!strcmp(argv[i], "-t"))
			timeout_ms = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-o"))
			logf = argv[i + 1];
		else
			return fprintf(stderr, "benchctl: unknown option %s\n", argv[i]), 2;
	}
	int steps = i;
	for (sep = i; sep < argc && strcmp(argv[sep], "--"); sep++)
		;
	if (sep + 1 >= argc)
		return fprintf(stderr, "usage: benchctl [-t MS] [-o FILE] STEP... -- CMD...\n"), 2;
	if (logf && (log_fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		return perror(logf), 1;
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return perror("pipe"), 1;
	signal(SIGPIPE, SIG_IGN);
	t0 = now_us();
	child = fork();
	if (child == 0) {
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		dup2(p[1], 1);
		execvp(argv[sep + 1], argv + sep + 1);
		_exit(127);
	}
	close(p[1]);
	out_fd = p[0];
	int rc = 0;
	double d = timeout_ms * 1e3;
	for (i = steps; i < sep && rc == 0; i++) {
		const char *s = argv[i];
		double st = rel();
		const char *px = pfx;
		pfx = "";
		reap(0);
		if (!strcmp(s, "first")) {
			if ((rc = wait_console(NULL, st + d)) == 0)
				printf("%sfirst_us=%.0f\n", px, first_t);
		} else if (!strcmp(s, "match") && i + 1 < sep) {
			if ((rc = wait_console(argv[++i], st + d)) == 0)
				printf("%smatch_us=%.0f\n", px, rel());
		} else if (!strcmp(s, "mark")) {
			pump(0);
			con_mark = con_len;
			first_t = -1;
			printf("%smark_us=%.0f\n", px, st);
		} else if (!strcmp(s, "sock") && i + 1 < sep) {
			int fd;
			while ((fd = connect_unix(argv[i + 1])) < 0 && rel() < st + d &&
			       !child_done) {
				pump(0);
				reap(0);
				usleep(100);
			}
			rc = fd < 0 ? -1 : (close(fd), 0);
			if (rc == 0)
				printf("%ssock_us=%.0f\n", px, rel());
			i++;
		} else if (!strcmp(s, "http") && i + 4 < sep) {
			rc = do_http(argv[i + 1], argv[i + 2], argv[i + 3], argv[i + 4]);
			if (rc == 0)
				printf("%shttp_us=%.0f\n", px, rel() - st);
			i += 4;
		} else if (!strcmp(s, "qmp") && i + 2 < sep) {
			if ((rc = qmp_cmd(argv[i + 1], argv[i + 2])) == 0)
				printf("%sqmp_us=%.0f\n", px, rel() - st);
			i += 2;
		} else if (!strcmp(s, "qmpwait") && i + 1 < sep) {
			if ((rc = qmp_wait_migrate(argv[++i])) == 0)
				printf("%sqmpwait_us=%.0f\n", px, rel() - st);
		} else if (!strcmp(s, "rss") && i + 1 < sep) {
			rc = do_rss(atol(argv[++i]));
		} else if (!strcmp(s, "as") && i + 1 < sep) {
			pfx = argv[++i];
			char *b = malloc(strlen(pfx) + 2);
			if (b)
				pfx = strcat(strcpy(b, pfx), "_");
		} else if (!strcmp(s, "sleep") && i + 1 < sep) {
			double until = st + atoi(argv[++i]) * 1e3;
			while (rel() < until)
				pump(1);
		} else if (!strcmp(s, "kill")) {
			kill(child, SIGKILL);
			reap(1);
		} else if (!strcmp(s, "exit")) {
			if ((rc = wait_exit(st + d)) == 0)
				printf("%sexit_us=%.0f exit_rc=%d\n", px, rel(), child_rc);
		} else {
			fprintf(stderr, "benchctl: bad step '%s'\n", s);
			rc = 2;
		}
		fflush(stdout);
	}
	if (rc)
		fprintf(stderr, "benchctl: step %d (%s) failed\n", i - 1, argv[i - 1]);
	if (!child_done) {
		kill(child, SIGKILL);
		reap(1);
	}
	while (pump(0) > 0) /* drain into the console file */
		;
	return rc ? 1 : 0;
}
