/* SPDX-License-Identifier: Apache-2.0 */
/* devices/i8042: the PS/2 controller subset a microVM needs (reset line, Ctrl+Alt+Del). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "devices/devices.h"
#include "snapshot/snapshot.h"

#define OFF_DATA 0   /* port 0x60 */
#define OFF_STATUS 4 /* port 0x64: status on read, command on write */

#define SB_OUT_FULL 0x01
#define SB_SYS 0x04
#define SB_CMD 0x08 /* last write was a command */
#define CB_KBD_INT 0x01
#define CB_POST_OK 0x04

#define CMD_READ_CTR 0x20
#define CMD_WRITE_CTR 0x60
#define CMD_AUX_DISABLE 0xa7
#define CMD_AUX_ENABLE 0xa8
#define CMD_SELF_TEST 0xaa
#define CMD_KBD_TEST 0xab
#define CMD_KBD_DISABLE 0xad
#define CMD_KBD_ENABLE 0xae
#define CMD_READ_OUTP 0xd0
#define CMD_WRITE_OUTP 0xd1
#define CMD_WRITE_AUX 0xd4
#define CMD_RESET_CPU 0xfe

#define KBD_ACK 0xfa
#define KBD_RESET 0xff
#define KBD_BAT_OK 0xaa
#define BUF_SIZE 16
#define I8042_STATE_VERSION 1

struct i8042 {
	struct dev dev;
	pthread_mutex_t lock;
	void (*reset_fn)(void *ctx);
	void *reset_ctx;
	dev_irq_fn irq;
	void *irq_ctx;
	uint8_t status, control, outp, cmd; /* cmd: command awaiting its data byte, or 0 */
	uint8_t buf[BUF_SIZE];
	uint32_t head, len;
};

static struct i8042 *to_i8042(struct dev *d)
{
	return d->priv;
}

static void i8042_reset_regs(struct i8042 *k)
{
	k->status = SB_SYS;
	k->control = CB_POST_OK | CB_KBD_INT;
	k->outp = 0x01; /* A20 off/reset line inactive */
	k->cmd = 0;
	k->head = k->len = 0;
}

static void i8042_kbd_irq(struct i8042 *k)
{
	if ((k->control & CB_KBD_INT) && k->irq) {
		k->irq(k->irq_ctx, 1, 1);
		k->irq(k->irq_ctx, 1, 0);
	}
}

static int i8042_push(struct i8042 *k, uint8_t b)
{
	if (k->len == BUF_SIZE)
		return -ENOSPC;
	k->buf[(k->head + k->len) % BUF_SIZE] = b;
	k->len++;
	k->status |= SB_OUT_FULL;
	return 0;
}

static uint8_t i8042_pop(struct i8042 *k)
{
	if (k->len == 0)
		return 0;
	uint8_t b = k->buf[k->head];
	k->head = (k->head + 1) % BUF_SIZE;
	k->len--;
	if (k->len == 0)
		k->status &= (uint8_t)~SB_OUT_FULL;
	return b;
}

/* Returns true when the guest asked for a CPU reset. */
static bool i8042_command(struct i8042 *k, uint8_t c)
{
	k->status |= SB_CMD;
	switch (c) {
	case CMD_READ_CTR:
		i8042_push(k, k->control);
		break;
	case CMD_READ_OUTP:
		i8042_push(k, k->outp);
		break;
	case CMD_SELF_TEST:
		i8042_push(k, 0x55);
		break;
	case CMD_KBD_TEST:
		i8042_push(k, 0x00);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTP:
	case CMD_WRITE_AUX:
		k->cmd = c;
		break;
	case CMD_RESET_CPU:
		return true;
	default: /* AUX enable/disable, KBD enable/disable and the rest: accepted, no effect */
		break;
	}
	return false;
}

static void i8042_data(struct i8042 *k, uint8_t v)
{
	k->status &= (uint8_t)~SB_CMD;
	switch (k->cmd) {
	case CMD_WRITE_CTR:
		k->control = v;
		break;
	case CMD_WRITE_OUTP:
		k->outp = v;
		break;
	case CMD_WRITE_AUX:
		break; /* no mouse */
	default:
		/* A byte for the keyboard: acknowledge it (reset also reports BAT OK). */
		i8042_push(k, KBD_ACK);
		if (v == KBD_RESET)
			i8042_push(k, KBD_BAT_OK);
		i8042_kbd_irq(k);
		break;
	}
	k->cmd = 0;
}

static void i8042_read(struct dev *d, uint64_t off, uint8_t *data, uint32_t len)
{
	struct i8042 *k = to_i8042(d);
	memset(data, 0, len);
	pthread_mutex_lock(&k->lock);
	if (off == OFF_STATUS) {
		data[0] = k->status;
	} else if (off == OFF_DATA) {
		data[0] = i8042_pop(k);
		if (k->len > 0)
			i8042_kbd_irq(k); /* more bytes queued (e.g. Ctrl+Alt+Del) */
	}
	pthread_mutex_unlock(&k->lock);
}

static void i8042_write(struct dev *d, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct i8042 *k = to_i8042(d);
	if (len < 1)
		return;
	bool reset = false;
	pthread_mutex_lock(&k->lock);
	if (off == OFF_STATUS)
		reset = i8042_command(k, data[0]);
	else if (off == OFF_DATA)
		i8042_data(k, data[0]);
	pthread_mutex_unlock(&k->lock);
	if (reset && k->reset_fn)
		k->reset_fn(k->reset_ctx);
}

int i8042_send_ctrl_alt_del(struct dev *d)
{
	static const uint8_t seq[] = {0x14, 0x11, 0xe0, 0x71}; /* Ctrl, Alt, Del (set 2) */
	struct i8042 *k = to_i8042(d);
	int r = 0;
	pthread_mutex_lock(&k->lock);
	if (BUF_SIZE - k->len < sizeof(seq)) {
		r = -ENOSPC;
	} else {
		for (size_t i = 0; i < sizeof(seq); i++)
			i8042_push(k, seq[i]);
		i8042_kbd_irq(k);
	}
	pthread_mutex_unlock(&k->lock);
	return r;
}

static void i8042_reset(struct dev *d)
{
	struct i8042 *k = to_i8042(d);
	pthread_mutex_lock(&k->lock);
	i8042_reset_regs(k);
	pthread_mutex_unlock(&k->lock);
}

/* State: version u8, status, control, outp, cmd (u8), u32 n + n queued bytes. */
static int i8042_save(struct dev *d, struct sbuf *out)
{
	struct i8042 *k = to_i8042(d);
	pthread_mutex_lock(&k->lock);
	sbuf_put_u8(out, I8042_STATE_VERSION);
	sbuf_put_u8(out, k->status);
	sbuf_put_u8(out, k->control);
	sbuf_put_u8(out, k->outp);
	sbuf_put_u8(out, k->cmd);
	sbuf_put_u32(out, k->len);
	for (uint32_t i = 0; i < k->len; i++)
		sbuf_put_u8(out, k->buf[(k->head + i) % BUF_SIZE]);
	pthread_mutex_unlock(&k->lock);
	return out->err;
}

static int i8042_restore(struct dev *d, const uint8_t *buf, size_t len)
{
	struct i8042 *k = to_i8042(d);
	struct sreader r;
	sreader_init(&r, buf, len);
	if (sreader_u8(&r) != I8042_STATE_VERSION)
		return -EINVAL;
	uint8_t st = sreader_u8(&r), ctl = sreader_u8(&r), outp = sreader_u8(&r);
	uint8_t cmd = sreader_u8(&r);
	uint32_t n = sreader_u32(&r);
	if (!sreader_ok(&r) || n > BUF_SIZE)
		return -EINVAL;
	const uint8_t *q = sreader_bytes(&r, n);
	if (!sreader_ok(&r) || sreader_remaining(&r) != 0)
		return -EINVAL;
	pthread_mutex_lock(&k->lock);
	k->status = st, k->control = ctl, k->outp = outp, k->cmd = cmd;
	k->head = 0;
	k->len = n;
	if (n)
		memcpy(k->buf, q, n);
	pthread_mutex_unlock(&k->lock);
	return 0;
}

static void i8042_destroy(struct dev *d)
{
	struct i8042 *k = to_i8042(d);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

static const struct dev_ops i8042_ops = {
    .kind = "i8042",
    .read = i8042_read,
    .write = i8042_write,
    .reset = i8042_reset,
    .save = i8042_save,
    .restore = i8042_restore,
    .destroy = i8042_destroy,
};

int i8042_create(void (*reset_fn)(void *ctx), void *ctx, dev_irq_fn irq, void *irq_ctx,
		 struct dev **out)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	pthread_mutex_init(&k->lock, NULL);
	k->reset_fn = reset_fn;
	k->reset_ctx = ctx;
	k->irq = irq;
	k->irq_ctx = irq_ctx;
	i8042_reset_regs(k);
	k->dev.ops = &i8042_ops;
	k->dev.priv = k;
	strcpy(k->dev.id, "i8042");
	*out = &k->dev;
	return 0;
}
