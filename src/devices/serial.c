/* SPDX-License-Identifier: Apache-2.0 */
/* devices/serial: a 16550A UART (COM1) with output to an fd and input from the host. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "devices/devices.h"
#include "snapshot/snapshot.h"

/* Register offsets. */
#define UART_DATA 0 /* RBR / THR, DLL with DLAB */
#define UART_IER 1  /* DLM with DLAB */
#define UART_IIR 2  /* FCR on write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_RDI 0x01
#define IER_THRI 0x02
#define IER_MASK 0x0f
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO 0xc0
#define LCR_DLAB 0x80
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MCR_LOOP 0x10
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80
#define FIFO_SIZE 64
#define SERIAL_STATE_VERSION 1

struct serial {
	struct dev dev;
	pthread_mutex_t lock;
	int out_fd;
	dev_irq_fn irq;
	void *irq_ctx;
	uint32_t gsi;
	/* registers */
	uint8_t dll, dlm, ier, iir, lcr, mcr, lsr, msr, scr;
	bool thri_pending; /* THR-empty interrupt raised and not yet acknowledged */
	uint8_t in[FIFO_SIZE];
	uint32_t in_head, in_len;
	uint64_t dropped_out;
};

static struct serial *to_serial(struct dev *d)
{
	return d->priv;
}

static void serial_reset_regs(struct serial *s)
{
	s->dll = 0x0c; /* 9600 baud */
	s->dlm = 0;
	s->ier = 0;
	s->iir = IIR_NONE;
	s->lcr = 0x03; /* 8N1 */
	s->mcr = 0x08; /* OUT2 */
	s->lsr = LSR_THRE | LSR_TEMT;
	s->msr = MSR_DSR | MSR_CTS | MSR_DCD;
	s->scr = 0;
	s->thri_pending = false;
	s->in_head = s->in_len = 0;
}

/* Recompute IIR from pending conditions; return true if an interrupt is pending. */
static bool serial_update_iir(struct serial *s)
{
	if ((s->ier & IER_RDI) && s->in_len > 0)
		s->iir = IIR_RDI;
	else if ((s->ier & IER_THRI) && s->thri_pending)
		s->iir = IIR_THRI;
	else
		s->iir = IIR_NONE;
	return s->iir != IIR_NONE;
}

/* Edge semantics (ISA COM1): pulse the line when a new interrupt becomes pending. */
static void serial_signal(struct serial *s)
{
	if (serial_update_iir(s) && s->irq) {
		s->irq(s->irq_ctx, s->gsi, 1);
		s->irq(s->irq_ctx, s->gsi, 0);
	}
}

static void serial_rx_push(struct serial *s, uint8_t b)
{
	if (s->in_len == FIFO_SIZE)
		return; /* overrun: drop, like a real FIFO */
	s->in[(s->in_head + s->in_len) % FIFO_SIZE] = b;
	s->in_len++;
	s->lsr |= LSR_DR;
}

static void serial_out(struct serial *s, uint8_t b)
{
	if (s->out_fd < 0)
		return;
	ssize_t n;
	do {
		n = write(s->out_fd, &b, 1);
	} while (n < 0 && errno == EINTR);
	if (n != 1)
		s->dropped_out++;
}

static void serial_write_reg(struct serial *s, uint64_t off, uint8_t v)
{
	bool dlab = s->lcr & LCR_DLAB;
	switch (off) {
	case UART_DATA:
		if (dlab) {
			s->dll = v;
			break;
		}
		if (s->mcr & MCR_LOOP)
			serial_rx_push(s, v);
		else
			serial_out(s, v);
		/* The byte left at once: THR is empty again. */
		s->thri_pending = true;
		serial_signal(s);
		break;
	case UART_IER:
		if (dlab) {
			s->dlm = v;
			break;
		}
		{
			bool was_thri = s->ier & IER_THRI;
			s->ier = v & IER_MASK;
			if (!was_thri && (s->ier & IER_THRI))
				s->thri_pending = true; /* THR is always empty */
		}
		serial_signal(s);
		break;
	case UART_IIR: /* FCR: FIFO control; clearing RX FIFO is honoured */
		if (v & 0x02) {
			s->in_head = s->in_len = 0;
			s->lsr &= (uint8_t)~LSR_DR;
		}
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
}

static uint8_t serial_msr(const struct serial *s)
{
	if (!(s->mcr & MCR_LOOP))
		return s->msr;
	/* Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
	uint8_t m = 0;
	m |= (s->mcr & 0x02) ? MSR_CTS : 0;
	m |= (s->mcr & 0x01) ? MSR_DSR : 0;
	m |= (s->mcr & 0x04) ? MSR_RI : 0;
	m |= (s->mcr & 0x08) ? MSR_DCD : 0;
	return m;
}

static uint8_t serial_read_reg(struct serial *s, uint64_t off)
{
	bool dlab = s->lcr & LCR_DLAB;
	uint8_t v = 0;
	switch (off) {
	case UART_DATA:
		if (dlab)
			return s->dll;
		if (s->in_len > 0) {
			v = s->in[s->in_head];
			s->in_head = (s->in_head + 1) % FIFO_SIZE;
			s->in_len--;
		}
		if (s->in_len == 0)
			s->lsr &= (uint8_t)~LSR_DR;
		serial_update_iir(s);
		return v;
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR:
		serial_update_iir(s);
		v = s->iir | IIR_FIFO;
		/* Reading IIR acknowledges a THR-empty interrupt. */
		if (s->iir == IIR_THRI) {
			s->thri_pending = false;
			serial_update_iir(s);
		}
		return v;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return s->lsr;
	case UART_MSR:
		return serial_msr(s);
	case UART_SCR:
		return s->scr;
	default:
		return 0xff;
	}
}

static void serial_read(struct dev *d, uint64_t off, uint8_t *data, uint32_t len)
{
	struct serial *s = to_serial(d);
	memset(data, 0, len);
	if (len != 1 || off > 7) {
		memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&s->lock);
	data[0] = serial_read_reg(s, off);
	pthread_mutex_unlock(&s->lock);
}

static void serial_write(struct dev *d, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct serial *s = to_serial(d);
	if (len != 1 || off > 7)
		return;
	pthread_mutex_lock(&s->lock);
	serial_write_reg(s, off, data[0]);
	pthread_mutex_unlock(&s->lock);
}

void serial_input(struct dev *d, const uint8_t *buf, size_t len)
{
	struct serial *s = to_serial(d);
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < len; i++)
		serial_rx_push(s, buf[i]);
	if (len > 0)
		serial_signal(s);
	pthread_mutex_unlock(&s->lock);
}

static void serial_reset(struct dev *d)
{
	struct serial *s = to_serial(d);
	pthread_mutex_lock(&s->lock);
	serial_reset_regs(s);
	pthread_mutex_unlock(&s->lock);
}

/* State, field by field: version u8, dll, dlm, ier, iir, lcr, mcr, lsr, msr, scr (u8 each),
 * thri_pending bool, u32 n + n bytes of pending input. */
static int serial_save(struct dev *d, struct sbuf *out)
{
	struct serial *s = to_serial(d);
	pthread_mutex_lock(&s->lock);
	const uint8_t regs[9] = {s->dll, s->dlm, s->ier, s->iir, s->lcr,
				 s->mcr, s->lsr, s->msr, s->scr};
	sbuf_put_u8(out, SERIAL_STATE_VERSION);
	sbuf_put_bytes(out, regs, sizeof(regs));
	sbuf_put_bool(out, s->thri_pending);
	sbuf_put_u32(out, s->in_len);
	for (uint32_t i = 0; i < s->in_len; i++)
		sbuf_put_u8(out, s->in[(s->in_head + i) % FIFO_SIZE]);
	pthread_mutex_unlock(&s->lock);
	return out->err;
}

static int serial_restore(struct dev *d, const uint8_t *buf, size_t len)
{
	struct serial *s = to_serial(d);
	struct sreader r;
	sreader_init(&r, buf, len);
	if (sreader_u8(&r) != SERIAL_STATE_VERSION)
		return -EINVAL;
	const uint8_t *regs = sreader_bytes(&r, 9);
	bool thri = sreader_bool(&r);
	uint32_t n = sreader_u32(&r);
	if (!sreader_ok(&r) || !regs || n > FIFO_SIZE)
		return -EINVAL;
	const uint8_t *in = sreader_bytes(&r, n);
	if (!sreader_ok(&r) || sreader_remaining(&r) != 0)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	s->dll = regs[0], s->dlm = regs[1], s->ier = regs[2] & IER_MASK, s->iir = regs[3];
	s->lcr = regs[4], s->mcr = regs[5] & 0x1f, s->lsr = regs[6], s->msr = regs[7];
	s->scr = regs[8];
	s->thri_pending = thri;
	s->in_head = 0;
	s->in_len = n;
	if (n)
		memcpy(s->in, in, n);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static void serial_destroy(struct dev *d)
{
	struct serial *s = to_serial(d);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static const struct dev_ops serial_ops = {
    .kind = "serial",
    .read = serial_read,
    .write = serial_write,
    .reset = serial_reset,
    .save = serial_save,
    .restore = serial_restore,
    .destroy = serial_destroy,
};

int serial_create(int out_fd, dev_irq_fn irq, void *irq_ctx, uint32_t gsi, struct dev **out)
{
	struct serial *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->out_fd = out_fd;
	s->irq = irq;
	s->irq_ctx = irq_ctx;
	s->gsi = gsi;
	serial_reset_regs(s);
	s->dev.ops = &serial_ops;
	s->dev.priv = s;
	strcpy(s->dev.id, "serial0");
	*out = &s->dev;
	return 0;
}
