/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-vsock internals: packet header, connection table, Unix-socket bridge state. */
#ifndef SQUIB_VIRTIO_VSOCK_H
#define SQUIB_VIRTIO_VSOCK_H

#include <sys/uio.h>

#include "virtio/vdev.h"

#define VSOCK_HOST_CID 2u
#define VSOCK_TYPE_STREAM 1u
#define VSOCK_OP_REQUEST 1u
#define VSOCK_OP_RESPONSE 2u
#define VSOCK_OP_RST 3u
#define VSOCK_OP_SHUTDOWN 4u
#define VSOCK_OP_RW 5u
#define VSOCK_OP_CREDIT_UPDATE 6u
#define VSOCK_OP_CREDIT_REQUEST 7u
#define VSOCK_SHUTDOWN_RCV 1u
#define VSOCK_SHUTDOWN_SEND 2u
#define VSOCK_EVENT_TRANSPORT_RESET 0u
#define VSOCK_HDR_LEN 44
#define VSOCK_MAX_PAYLOAD (64 * 1024)
#define VSOCK_BUF_ALLOC (256 * 1024) /* our receive buffer per connection */
#define VSOCK_MAX_CONNS 64
#define VSOCK_CLOSE_TIMEOUT_US 2000000ULL /* CLOSING connections the guest never RSTs */
#define VSOCK_MAX_CTRL 64
#define VSOCK_RXQ 0
#define VSOCK_TXQ 1
#define VSOCK_EVQ 2

/* Packet header (virtio 1.x 5.10.6), host-endian copy. */
struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};

enum vconn_state {
	VCONN_FREE = 0,
	VCONN_HOST_CMD, /* host accepted, waiting for "CONNECT <port>\n" */
	VCONN_HOST_REQ, /* REQUEST sent to the guest, waiting for RESPONSE */
	VCONN_ESTABLISHED,
	VCONN_CLOSING, /* SHUTDOWN sent to the guest, waiting for its RST */
};

struct vvsock;

struct vconn {
	struct vvsock *owner; /* survives close */
	enum vconn_state state;
	int fd;
	uint32_t host_port;  /* our side (CID 2) */
	uint32_t guest_port; /* the guest's side */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint32_t rx_cnt;       /* payload bytes sent to the guest */
	uint32_t fwd_cnt;      /* payload bytes from the guest delivered to fd */
	uint32_t fwd_cnt_told; /* fwd_cnt last advertised */
	bool readable;	       /* fd had data when last checked (edge-triggered) */
	bool watch_out;	       /* EPOLLOUT watched: only while pend holds data */
	uint8_t *pend;	       /* guest data not yet written to fd */
	size_t pend_len;
	char cmd[32];
	size_t cmd_len;
	uint64_t closing_since_us; /* VCONN_CLOSING: when SHUTDOWN was sent */
};

struct vsock_ctrl {
	struct vsock_hdr h;
};

struct vvsock {
	struct vdev vd; /* first */
	struct vsock_cfg cfg;
	int listen_fd;
	uint32_t local_port_last;
	bool reset_pending; /* TRANSPORT_RESET to deliver on the event queue */
	struct vconn conn[VSOCK_MAX_CONNS];
	struct vsock_ctrl ctrl[VSOCK_MAX_CTRL]; /* control packets waiting for RX buffers */
	unsigned n_ctrl;
	struct iovec iov[VIRTQ_MAX_SIZE]; /* guest buffers of the chain being copied (one copy) */
};

/* Shared by vsock.c (device, RX, host side) and vsock_tx.c (guest packets). Lock held. */
void vsock_hdr_decode(const uint8_t *b, struct vsock_hdr *h);
/* Queue a control packet for the guest (RST, RESPONSE, REQUEST, SHUTDOWN, CREDIT_UPDATE). */
void vsock_ctrl_raw(struct vvsock *v, uint32_t host_port, uint32_t guest_port, uint16_t op,
		    uint32_t flags, uint32_t fwd_cnt);
void vsock_ctrl_conn(struct vvsock *v, struct vconn *c, uint16_t op, uint32_t flags);
void vsock_conn_close(struct vvsock *v, struct vconn *c);
struct vconn *vsock_conn_find(struct vvsock *v, uint32_t host_port, uint32_t guest_port);
/* Take ownership of fd (closed on failure) and watch it. NULL if the table is full. */
struct vconn *vsock_conn_new(struct vvsock *v, int fd, enum vconn_state st);
bool vsock_port_in_use(struct vvsock *v, uint32_t port);
/* Watch c's fd for EPOLLOUT (only while guest data is pending: a Unix socket reports it on
 * every read by the peer). 0 or -errno (the caller resets the connection). */
int vsock_conn_watch_out(struct vvsock *v, struct vconn *c, bool out);
/* Deliver control packets and host data into the RX queue. */
void vsock_rx(struct vvsock *v);
/* Process the TX queue (guest packets): payloads go from guest memory to the socket with one
 * sendmsg; only what the socket refuses (EAGAIN) is copied to the connection's pend buffer. */
void vsock_tx(struct vvsock *v);
/* Write pending guest data to the host socket; false if the connection had to be reset. */
bool vsock_conn_flush(struct vvsock *v, struct vconn *c);
/* Queue a CREDIT_UPDATE once half our buffer drained since the last advertised fwd_cnt. */
void vsock_conn_maybe_credit(struct vvsock *v, struct vconn *c);

#endif
