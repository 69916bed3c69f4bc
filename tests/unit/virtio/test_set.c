/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for virtio_devices_create: attach order, slots, IRQs, lookups, failures. */
#include "vtest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static char g_disk[64], g_disk2[64], g_sock[96];

static void make_disk(const char *p, off_t size)
{
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
}

static void fill_cfg(struct vm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->balloon = (struct balloon_cfg){.set = true, .amount_mib = 1};
	c->n_drives = 2;
	snprintf(c->drives[0].drive_id, VM_ID_MAX, "data");
	snprintf(c->drives[0].path_on_host, VM_PATH_MAX, "%s", g_disk2);
	snprintf(c->drives[1].drive_id, VM_ID_MAX, "rootfs");
	snprintf(c->drives[1].path_on_host, VM_PATH_MAX, "%s", g_disk);
	c->drives[1].is_root_device = true;
	c->vsock = (struct vsock_cfg){.set = true, .guest_cid = 3};
	snprintf(c->vsock.uds_path, VM_PATH_MAX, "%s", g_sock);
	c->entropy.set = true;
}

static void test_order_and_slots(void **state)
{
	struct vt t;
	vt_init(&t);
	static struct vm_config c;
	fill_cfg(&c);
	struct virtio_env env = vt_env(&t);
	struct virtio_set *s = NULL;
	char err[256] = "";
	assert_int_equal(virtio_devices_create(&c, &env, &s, err, sizeof(err)), 0);
	assert_int_equal(virtio_set_count(s), 5);
	const enum virtio_kind kinds[] = {VIRTIO_KIND_BALLOON, VIRTIO_KIND_BLOCK, VIRTIO_KIND_BLOCK,
					  VIRTIO_KIND_VSOCK, VIRTIO_KIND_RNG};
	const char *ids[] = {"balloon", "rootfs", "data", "vsock", "rng"};
	for (size_t i = 0; i < 5; i++) {
		const struct virtio_slot *sl = virtio_set_slot(s, i);
		assert_int_equal(sl->kind, kinds[i]);
		assert_string_equal(sl->id, ids[i]);
		assert_int_equal(sl->base, 0xC0001000ULL + i * 0x1000);
		assert_int_equal(sl->len, 0x1000);
		assert_int_equal(sl->irq, 5 + i);
		assert_int_equal(vt_rd(sl->dev, VIRTIO_MMIO_DEVICE_ID), kinds[i]);
	}
	assert_null(virtio_set_slot(s, 5));
	assert_string_equal(virtio_kind_name(virtio_set_slot(s, 1)->kind), "virtio-block");
	assert_string_equal(virtio_kind_name(VIRTIO_KIND_VSOCK), "virtio-vsock");
	/* Lookups by id. */
	assert_int_equal(virtio_drive_update(s, "nope", g_disk, NULL), -ENOENT);
	assert_int_equal(virtio_drive_update(s, "data", g_disk, NULL), 0);
	assert_int_equal(virtio_balloon_set_target(s, 3), 0);
	assert_int_equal(virtio_net_update(s, "eth0", NULL, NULL), -ENOENT);
	struct virtio_balloon_stats st;
	assert_int_equal(virtio_balloon_get_stats(s, &st), -ENOTSUP);
	virtio_set_pause(s);
	virtio_set_resume(s);
	virtio_set_destroy(s);
	vt_fini(&t);
}

static void test_failure_reports(void **state)
{
	struct vt t;
	vt_init(&t);
	static struct vm_config c;
	fill_cfg(&c);
	snprintf(c.drives[0].path_on_host, VM_PATH_MAX, "/nonexistent/disk.img");
	struct virtio_env env = vt_env(&t);
	struct virtio_set *s = NULL;
	char err[256] = "";
	assert_int_equal(virtio_devices_create(&c, &env, &s, err, sizeof(err)), -ENOENT);
	assert_null(s);
	assert_non_null(strstr(err, "data"));
	/* No balloon, no vsock: the root disk takes the first slot and IRQ 5. */
	fill_cfg(&c);
	c.balloon.set = false;
	c.vsock.set = false;
	assert_int_equal(virtio_devices_create(&c, &env, &s, err, sizeof(err)), 0);
	assert_int_equal(virtio_set_slot(s, 0)->base, 0xC0001000ULL);
	assert_int_equal(virtio_set_slot(s, 0)->irq, 5);
	assert_string_equal(virtio_set_slot(s, 0)->id, "rootfs");
	assert_int_equal(virtio_balloon_set_target(s, 3), -ENODEV);
	virtio_set_destroy(s);
	/* Too many devices. */
	fill_cfg(&c);
	c.n_drives = VM_MAX_DRIVES;
	for (int i = 0; i < VM_MAX_DRIVES; i++) {
		snprintf(c.drives[i].drive_id, VM_ID_MAX, "d%d", i);
		snprintf(c.drives[i].path_on_host, VM_PATH_MAX, "%s", g_disk);
	}
	assert_int_equal(virtio_devices_create(&c, &env, &s, err, sizeof(err)), -ENOSPC);
	vt_fini(&t);
}

int main(void)
{
	snprintf(g_disk, sizeof(g_disk), "/tmp/squib-set-%d.img", getpid());
	snprintf(g_disk2, sizeof(g_disk2), "/tmp/squib-set2-%d.img", getpid());
	snprintf(g_sock, sizeof(g_sock), "/tmp/squib-set-%d.sock", getpid());
	make_disk(g_disk, 1 << 20);
	make_disk(g_disk2, 2 << 20);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order_and_slots),
	    cmocka_unit_test(test_failure_reports),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(g_disk);
	unlink(g_disk2);
	unlink(g_sock);
	return rc;
}
