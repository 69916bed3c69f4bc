// SPDX-License-Identifier: Apache-2.0
/* bench helper: blast raw Ethernet frames (ethertype 0x88b5) into a tap for net-bench dir=rx. */
/*
 * usage: netblast IFACE DSTMAC SIZE [SECS] [BURST]
 * Sends SIZE-byte frames to DSTMAC through an AF_PACKET socket bound to IFACE (for a tap:
 * towards whoever reads the tap, i.e. the VMM) for SECS seconds (default 60), BURST frames
 * (default 32) per loop. A full queue (ENOBUFS/EAGAIN, or a tap that dropped frames: its
 * tx_dropped counter grew, e.g. while nobody reads it yet) makes it sleep 200 us instead of
 * spinning, so that on a small host the VMM gets the CPU. Prints "NETBLAST sent=<n>
 * refused=<n> tap_dropped=<n> secs=<s>" at the end (also on SIGTERM/SIGINT).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ETH_BENCH 0x88b5

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The interface's tx_dropped counter (for a tap: frames nobody read in time), or 0. */
static unsigned long long tx_dropped(int fd)
{
	char b[32];
	ssize_t n = fd < 0 ? -1 : pread(fd, b, sizeof(b) - 1, 0);
	if (n <= 0)
		return 0;
	b[n] = 0;
	return strtoull(b, NULL, 10);
}

static int parse_mac(const char *s, unsigned char mac[6])
{
	unsigned v[6];
	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 255)
			return -1;
		mac[i] = (unsigned char)v[i];
	}
	return 0;
}

int main(int argc, char **argv)
{
	static unsigned char frame[65536];
	unsigned char dst[6];
	if (argc < 4 || parse_mac(argv[2], dst)) {
		fprintf(stderr, "usage: netblast IFACE DSTMAC SIZE [SECS] [BURST]\n");
		return 2;
	}
	long size = strtol(argv[3], NULL, 0);
	double secs = argc > 4 ? strtod(argv[4], NULL) : 60;
	long burst = argc > 5 ? strtol(argv[5], NULL, 0) : 32;
	unsigned ifindex = if_nametoindex(argv[1]);
	if (size < 60 || size > (long)sizeof(frame) || burst < 1 || !ifindex) {
		fprintf(stderr, "netblast: bad size/burst or no interface %s\n", argv[1]);
		return 2;
	}
	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_BENCH));
	struct sockaddr_ll sa = {.sll_family = AF_PACKET,
				 .sll_protocol = htons(ETH_BENCH),
				 .sll_ifindex = (int)ifindex,
				 .sll_halen = 6};
	memcpy(sa.sll_addr, dst, 6);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("netblast: AF_PACKET socket");
		return 1;
	}
	memset(frame, 0x5a, sizeof(frame));
	memcpy(frame, dst, 6);
	memset(frame + 6, 0, 6);
	frame[6] = 0x02; /* locally administered source */
	frame[11] = 0x01;
	frame[12] = ETH_BENCH >> 8;
	frame[13] = ETH_BENCH & 0xff;
	char path[128];
	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/tx_dropped", argv[1]);
	int stat = open(path, O_RDONLY | O_CLOEXEC);
	unsigned long long drops = tx_dropped(stat), drops0 = drops;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	unsigned long long sent = 0, dropped = 0;
	double t0 = now_s(), end = t0 + secs;
	while (!stop && now_s() < end) {
		int full = 0;
		for (long i = 0; i < burst && !stop; i++) {
			ssize_t w = sendto(fd, frame, (size_t)size, MSG_DONTWAIT,
					   (struct sockaddr *)&sa, sizeof(sa));
			if (w == size) {
				sent++;
			} else if (w < 0 && errno != EINTR) {
				dropped++;
				full = 1;
				break;
			}
		}
		unsigned long long d = tx_dropped(stat);
		if (full || d != drops)
			nanosleep(&(struct timespec){0, 200000}, NULL);
		drops = d;
	}
	printf("NETBLAST sent=%llu refused=%llu tap_dropped=%llu secs=%.3f\n", sent, dropped,
	       drops - drops0, now_s() - t0);
	return 0;
}
