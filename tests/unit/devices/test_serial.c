/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for devices/serial: 16550A register behaviour, interrupts, state. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/devices.h"
#include "snapshot/snapshot.h"

static int irq_pulses, irq_level;
static uint32_t irq_gsi;

static void irq_cb(void *ctx, uint32_t gsi, int level)
{
	irq_gsi = gsi;
	if (level && !irq_level)
		irq_pulses++;
	irq_level = level;
}

struct fx {
	struct dev *d;
	int pfd[2];
};

static int setup(void **state)
{
	static struct fx f;
	irq_pulses = irq_level = 0;
	if (pipe2(f.pfd, O_NONBLOCK) < 0)
		return -1;
	if (serial_create(f.pfd[1], irq_cb, NULL, 4, &f.d) < 0)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	f->d->ops->destroy(f->d);
	close(f->pfd[0]);
	close(f->pfd[1]);
	return 0;
}

static uint8_t rd(struct dev *d, uint64_t off)
{
	uint8_t v;
	d->ops->read(d, off, &v, 1);
	return v;
}

static void wr(struct dev *d, uint64_t off, uint8_t v)
{
	d->ops->write(d, off, &v, 1);
}

static void test_output_and_thre_irq(void **state)
{
	struct fx *f = *state;
	assert_int_equal(rd(f->d, 2) & 0x0f, 0x01); /* no interrupt pending */
	assert_int_equal(rd(f->d, 5) & 0x60, 0x60); /* THRE | TEMT */
	wr(f->d, 0, 'h');
	assert_int_equal(irq_pulses, 0); /* THRI disabled */
	wr(f->d, 1, 0x02);		 /* enable THRI: THR is empty -> interrupt */
	assert_int_equal(irq_pulses, 1);
	assert_int_equal(irq_gsi, 4);
	assert_int_equal(rd(f->d, 2), 0xc2); /* FIFO bits + THRI */
	assert_int_equal(rd(f->d, 2), 0xc1); /* reading IIR acknowledged it */
	wr(f->d, 0, 'i');
	assert_int_equal(irq_pulses, 2); /* each emptied THR interrupts again */
	assert_int_equal(rd(f->d, 2), 0xc2);
	char buf[8] = {0};
	assert_int_equal(read(f->pfd[0], buf, sizeof(buf)), 2);
	assert_string_equal(buf, "hi");
	/* Disabling and re-enabling THRI raises it again (Linux's THRE test). */
	wr(f->d, 1, 0x00);
	assert_int_equal(rd(f->d, 2), 0xc1);
	wr(f->d, 1, 0x02);
	assert_int_equal(irq_pulses, 3);
	assert_int_equal(rd(f->d, 1), 0x02);
	wr(f->d, 1, 0xff);
	assert_int_equal(rd(f->d, 1), 0x0f); /* only 4 IER bits exist */
}

static void test_dlab(void **state)
{
	struct fx *f = *state;
	wr(f->d, 3, 0x83); /* DLAB + 8N1 */
	wr(f->d, 0, 0x01); /* DLL */
	wr(f->d, 1, 0x02); /* DLM */
	assert_int_equal(rd(f->d, 0), 0x01);
	assert_int_equal(rd(f->d, 1), 0x02);
	assert_int_equal(irq_pulses, 0); /* DLM write is not IER */
	char buf[4];
	assert_int_equal(read(f->pfd[0], buf, sizeof(buf)), -1); /* DLL write sent nothing */
	wr(f->d, 3, 0x03);
	assert_int_equal(rd(f->d, 3), 0x03);
	assert_int_equal(rd(f->d, 1), 0x00); /* IER untouched */
	wr(f->d, 7, 0x5a);
	assert_int_equal(rd(f->d, 7), 0x5a); /* scratch */
}

static void test_loopback(void **state)
{
	struct fx *f = *state;
	wr(f->d, 4, 0x1a);			    /* LOOP | OUT2 | RTS */
	assert_int_equal(rd(f->d, 6) & 0xf0, 0x90); /* DCD | CTS, as Linux's probe expects */
	wr(f->d, 4, 0x1f);
	assert_int_equal(rd(f->d, 6) & 0xf0, 0xf0);
	wr(f->d, 1, 0x01); /* RDI */
	wr(f->d, 0, 0x42);
	assert_int_equal(rd(f->d, 5) & 0x01, 0x01); /* data ready */
	assert_int_equal(rd(f->d, 2) & 0x0f, 0x04); /* RDI pending */
	assert_true(irq_pulses >= 1);
	assert_int_equal(rd(f->d, 0), 0x42);
	assert_int_equal(rd(f->d, 5) & 0x01, 0x00);
	assert_int_equal(rd(f->d, 2) & 0x0f, 0x01);
	char buf[4];
	assert_int_equal(read(f->pfd[0], buf, sizeof(buf)), -1); /* nothing left the UART */
	wr(f->d, 4, 0x08);
	assert_int_equal(rd(f->d, 6), 0xb0); /* DCD | DSR | CTS outside loopback */
}

static void test_input(void **state)
{
	struct fx *f = *state;
	serial_input(f->d, (const uint8_t *)"ab", 2);
	assert_int_equal(irq_pulses, 0); /* RDI off */
	assert_int_equal(rd(f->d, 5) & 0x01, 0x01);
	wr(f->d, 1, 0x01);
	serial_input(f->d, (const uint8_t *)"c", 1);
	assert_int_equal(irq_pulses, 2); /* enabling RDI with data queued, then new input */
	assert_int_equal(rd(f->d, 0), 'a');
	assert_int_equal(rd(f->d, 0), 'b');
	assert_int_equal(rd(f->d, 0), 'c');
	assert_int_equal(rd(f->d, 5) & 0x01, 0x00);
	uint8_t big[100];
	memset(big, 'x', sizeof(big));
	serial_input(f->d, big, sizeof(big)); /* FIFO of 64 drops the rest */
	int n = 0;
	while (rd(f->d, 5) & 0x01)
		n++, rd(f->d, 0);
	assert_int_equal(n, 64);
}

static void test_save_restore(void **state)
{
	struct fx *f = *state;
	wr(f->d, 3, 0x83);
	wr(f->d, 0, 0x07);
	wr(f->d, 3, 0x1b);
	wr(f->d, 1, 0x03);
	wr(f->d, 7, 0x99);
	serial_input(f->d, (const uint8_t *)"xyz", 3);
	struct sbuf sb;
	sbuf_init(&sb);
	assert_int_equal(f->d->ops->save(f->d, &sb), 0);
	struct dev *d2;
	assert_int_equal(serial_create(-1, irq_cb, NULL, 4, &d2), 0);
	assert_int_equal(d2->ops->restore(d2, sb.data, sb.len), 0);
	assert_int_equal(rd(d2, 3), 0x1b);
	assert_int_equal(rd(d2, 1), 0x03);
	assert_int_equal(rd(d2, 7), 0x99);
	assert_int_equal(rd(d2, 0), 'x');
	assert_int_equal(rd(d2, 0), 'y');
	assert_int_equal(rd(d2, 0), 'z');
	wr(d2, 3, 0x9b);
	assert_int_equal(rd(d2, 0), 0x07);
	/* Truncated and oversized inputs are refused. */
	assert_int_equal(d2->ops->restore(d2, sb.data, sb.len - 1), -EINVAL);
	assert_int_equal(d2->ops->restore(d2, sb.data, 3), -EINVAL);
	d2->ops->destroy(d2);
	sbuf_free(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_output_and_thre_irq, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dlab, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_input, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_save_restore, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
