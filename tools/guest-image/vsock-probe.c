// SPDX-License-Identifier: Apache-2.0
// Tiny static vsock client/echo server for the level-2 guest's `vsock` scenario; `uds-echo` is
// the host (level-1) side behind a Firecracker-style vsock Unix socket.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

static int usage(void)
{
	fprintf(stderr,
		"usage: vsock-probe cid | connect CID PORT MSG | echo PORT | uds-echo PATH\n");
	return 2;
}

static int do_cid(void)
{
	unsigned int cid = 0;
	int fd = open("/dev/vsock", O_RDONLY);
	/* The local CID is what the virtio transport read from the device config (guest_cid). */
	if (fd < 0 || ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) < 0) {
		perror("/dev/vsock");
		return 1;
	}
	printf("%u\n", cid);
	return 0;
}

static int do_connect(unsigned cid, unsigned port, const char *msg)
{
	struct sockaddr_vm a;
	char buf[512];
	ssize_t n;
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.svm_family = AF_VSOCK;
	a.svm_cid = cid;
	a.svm_port = port;
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("vsock connect");
		return 1;
	}
	if (write(fd, msg, strlen(msg)) != (ssize_t)strlen(msg)) {
		perror("write");
		return 1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		perror("read");
		return 1;
	}
	buf[n] = 0;
	printf("%s\n", buf);
	return 0;
}

static int echo_one(int fd)
{
	char buf[4096];
	ssize_t n;
	int c = accept(fd, NULL, NULL);
	if (c < 0) {
		perror("accept");
		return 1;
	}
	while ((n = read(c, buf, sizeof(buf))) > 0)
		if (write(c, buf, (size_t)n) != n)
			return 1;
	close(c);
	return 0;
}

static int do_uds_echo(const char *path)
{
	struct sockaddr_un a;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0) {
		perror("unix listen");
		return 1;
	}
	return echo_one(fd);
}

static int do_echo(unsigned port)
{
	struct sockaddr_vm a;
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.svm_family = AF_VSOCK;
	a.svm_cid = VMADDR_CID_ANY;
	a.svm_port = port;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0) {
		perror("vsock listen");
		return 1;
	}
	printf("SQUIB-VSOCK-LISTENING %u\n", port);
	fflush(stdout);
	return echo_one(fd);
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "cid"))
		return do_cid();
	if (argc == 5 && !strcmp(argv[1], "connect"))
		return do_connect((unsigned)strtoul(argv[2], NULL, 0),
				  (unsigned)strtoul(argv[3], NULL, 0), argv[4]);
	if (argc == 3 && !strcmp(argv[1], "echo"))
		return do_echo((unsigned)strtoul(argv[2], NULL, 0));
	if (argc == 3 && !strcmp(argv[1], "uds-echo"))
		return do_uds_echo(argv[2]);
	return usage();
}
