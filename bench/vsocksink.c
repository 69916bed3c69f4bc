// SPDX-License-Identifier: Apache-2.0
/* bench helper: one-connection stream sink/source on AF_UNIX or AF_VSOCK for vsock-bench. */
/*
 * usage: vsocksink unix PATH|vsock PORT recv|send [BYTES]
 * Listens (a Unix socket at PATH, replacing a stale one; or AF_VSOCK on any CID, PORT),
 * accepts one connection, then
 *   recv: reads until EOF and counts the bytes;
 *   send: writes BYTES (default 16 MiB) of 0x5a in 64 KiB writes, then reads until EOF.
 * Prints "VSOCKSINK mode=<m> bytes=<n> secs=<s>" (host wall time, accept -> done) and exits.
 */
#include <errno.h>
#include <linux/vm_sockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int listen_on(const char *kind, const char *where)
{
	int fd;
	if (!strcmp(kind, "unix")) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		if (strlen(where) >= sizeof(sa.sun_path))
			return -1;
		strcpy(sa.sun_path, where);
		unlink(where);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return -1;
	} else if (!strcmp(kind, "vsock")) {
		struct sockaddr_vm sa = {.svm_family = AF_VSOCK,
					 .svm_cid = VMADDR_CID_ANY,
					 .svm_port = (unsigned)strtoul(where, NULL, 0)};
		fd = socket(AF_VSOCK, SOCK_STREAM, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return -1;
	} else {
		errno = EINVAL;
		return -1;
	}
	return listen(fd, 1) < 0 ? -1 : fd;
}

int main(int argc, char **argv)
{
	static char buf[65536];
	if (argc < 4 || (strcmp(argv[3], "recv") && strcmp(argv[3], "send"))) {
		fprintf(stderr, "usage: vsocksink unix PATH|vsock PORT recv|send [BYTES]\n");
		return 2;
	}
	int send_mode = !strcmp(argv[3], "send");
	unsigned long long want = argc > 4 ? strtoull(argv[4], NULL, 0) : 16ULL << 20, n = 0;
	signal(SIGPIPE, SIG_IGN);
	int lfd = listen_on(argv[1], argv[2]);
	if (lfd < 0) {
		perror("vsocksink: listen");
		return 1;
	}
	int fd = accept(lfd, NULL, NULL);
	if (fd < 0) {
		perror("vsocksink: accept");
		return 1;
	}
	double t0 = now_s();
	memset(buf, 0x5a, sizeof(buf));
	while (send_mode && n < want) {
		size_t k = want - n < sizeof(buf) ? (size_t)(want - n) : sizeof(buf);
		ssize_t w = write(fd, buf, k);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		n += (unsigned long long)w;
	}
	double t1 = now_s();
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (!send_mode)
			n += (unsigned long long)r;
	}
	if (!send_mode)
		t1 = now_s();
	printf("VSOCKSINK mode=%s bytes=%llu secs=%.3f\n", argv[3], n, t1 - t0);
	close(fd);
	close(lfd);
	if (!strcmp(argv[1], "unix"))
		unlink(argv[2]);
	return 0;
}
