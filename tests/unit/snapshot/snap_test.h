/* SPDX-License-Identifier: Apache-2.0 */
/* snap_test: shared fixtures for the snapshot unit tests (payload builders, temp dirs). */
#ifndef SQUIB_SNAP_TEST_H
#define SQUIB_SNAP_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <ftw.h>
#include <cmocka.h>

#include "snapshot/snapshot.h"

#define TEST_MIB (1ULL << 20)

/* VM info for n vCPUs and mem_mib MiB. */
static inline void test_vm_info(struct snap_vm_info *vi, uint32_t n, uint64_t mem_mib)
{
	memset(vi, 0, sizeof(*vi));
	vi->machine.vcpu_count = n;
	vi->machine.mem_size_mib = mem_mib;
	vi->machine.track_dirty_pages = true;
	vi->machine.cpu_template = CPU_TEMPLATE_T2S;
	vi->boot.set = true;
	strcpy(vi->boot.kernel_image_path, "/images/vmlinux");
	vi->boot.has_boot_args = true;
	strcpy(vi->boot.boot_args, "console=ttyS0 reboot=k panic=1");
}

/* Every section but the memory descriptor, deterministic. */
static inline void test_payload_head(struct sbuf *b, uint32_t nvcpu, uint64_t mem_mib)
{
	struct snap_identity id;
	struct snap_vm_info vi;
	snap_identity_host(&id);
	test_vm_info(&vi, nvcpu, mem_mib);
	snap_sec_identity_put(b, &id);
	snap_sec_vm_info_put(b, &vi);
	for (uint32_t i = 0; i < nvcpu; i++) {
		uint8_t blob[40];
		memset(blob, (int)(0xa0 + i), sizeof(blob));
		snap_sec_vcpu_put(b, i, blob, sizeof(blob));
	}
	static const uint8_t vmblob[] = {1, 2, 3, 4, 5, 6, 7};
	snap_sec_vm_state_put(b, vmblob, sizeof(vmblob));
	size_t mk = snap_sec_device_begin(b, "serial", "ttyS0", 0, 4);
	sbuf_put_u32(b, 0xdeadbeef);
	snap_sec_device_end(b, mk);
	mk = snap_sec_device_begin(b, "virtio-block", "rootfs", 0xd0000000ULL, 5);
	sbuf_put_u64(b, 42);
	snap_sec_device_end(b, mk);
	static const char json[] = "{\"latest\":{\"meta-data\":{}}}";
	snap_sec_mmds_put(b, json, strlen(json));
}

/* Memory descriptor for a plain layout of mem_mib MiB in one region. */
static inline void test_mem_desc(struct snap_mem_desc *m, uint64_t mem_mib)
{
	memset(m, 0, sizeof(*m));
	m->page_size = 4096;
	m->type = SNAP_FULL;
	m->file_size = mem_mib * TEST_MIB;
	for (int i = 0; i < SNAP_PAIR_ID_LEN; i++)
		m->pair_id[i] = (uint8_t)(i * 17);
	m->nr = 1;
	m->r[0].size = m->file_size;
}

/* A whole valid payload (head + memory descriptor). */
static inline void test_payload(struct sbuf *b, uint32_t nvcpu, uint64_t mem_mib)
{
	struct snap_mem_desc m;
	test_payload_head(b, nvcpu, mem_mib);
	test_mem_desc(&m, mem_mib);
	snap_sec_mem_put(b, &m);
}

/* mkdtemp under $TMPDIR or /tmp into out. */
static inline void test_tmpdir(char *out, size_t cap)
{
	const char *t = getenv("TMPDIR");
	snprintf(out, cap, "%s/squib-snap-XXXXXX", t && *t ? t : "/tmp");
	assert_non_null(mkdtemp(out));
}

static inline int test_rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

/* rm -r of a test directory (does not cross mount points). */
static inline void test_rmtree(const char *dir)
{
	assert_int_equal(nftw(dir, test_rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT), 0);
}

/* Write len bytes to path (0600). */
static inline void test_write_file(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	if (len)
		assert_int_equal(fwrite(p, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Guest RAM of mem_mib MiB (memfd backed) with a VMM-side dirty bitmap. */
static inline void test_gmem(struct gmem *m, uint64_t mem_mib)
{
	assert_int_equal(gmem_layout_x86(m, mem_mib * TEST_MIB), 0);
	assert_int_equal(gmem_alloc(m), 0);
	m->dirty = calloc(m->total / PAGE_SIZE / 64 + 1, sizeof(uint64_t));
	assert_non_null(m->dirty);
}

static inline void test_gmem_free(struct gmem *m)
{
	free(m->dirty);
	m->dirty = NULL;
	gmem_free(m);
}

/* Read a whole small file into a malloc'd buffer. */
static inline uint8_t *test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc((size_t)n + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

/* Number of directory entries of dir whose name ends with suffix ("" = all). */
static inline int test_count(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;
	size_t sl = strlen(suffix);
	assert_non_null(d);
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (l >= sl && !strcmp(de->d_name + l - sl, suffix))
			n++;
	}
	closedir(d);
	return n;
}

#endif
