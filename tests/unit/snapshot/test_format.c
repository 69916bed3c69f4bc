/* SPDX-License-Identifier: Apache-2.0 */
/* test_format: CRC-64/Jones, sbuf/sreader, envelope load checks and payload sections. */
#include "snap_test.h"

#include <errno.h>

static void test_crc64(void **state)
{
	uint8_t b123[16];
	assert_true(crc64_jones(0, "123456789", 9) == 0xE9C6D914C4B8D9CAULL);
	memset(b123, 123, sizeof(b123));
	assert_true(crc64_jones(0, b123, sizeof(b123)) == 0x29D5357216326566ULL);
	assert_true(crc64_jones(0, "", 0) == 0);
	/* incremental == one shot */
	assert_true(crc64_jones(crc64_jones(0, "1234", 4), "56789", 5) == 0xE9C6D914C4B8D9CAULL);
	/* residue: data + LE crc trailer gives 0 */
	uint8_t buf[17] = "123456789";
	uint64_t c = crc64_jones(0, buf, 9);
	for (int i = 0; i < 8; i++)
		buf[9 + i] = (uint8_t)(c >> (8 * i));
	assert_true(crc64_jones(0, buf, 17) == 0);
}

static void test_sbuf_le(void **state)
{
	struct sbuf b;
	sbuf_init(&b);
	sbuf_put_u8(&b, 0x11);
	sbuf_put_u16(&b, 0x2233);
	sbuf_put_u32(&b, 0x44556677);
	sbuf_put_u64(&b, 0x8899aabbccddeeffULL);
	sbuf_put_bool(&b, true);
	sbuf_put_str(&b, "hi", 8);
	static const uint8_t want[] = {0x11, 0x33, 0x22, 0x77, 0x66, 0x55, 0x44, 0xff,
				       0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88, 0x01,
				       2,    0,	   0,	 0,    'h',  'i'};
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	/* bounded string: too long is a sticky error, later puts are no-ops */
	assert_int_equal(sbuf_put_str(&b, "toolong", 3), -E2BIG);
	size_t len = b.len;
	assert_int_equal(sbuf_put_u32(&b, 1), -E2BIG);
	assert_int_equal(b.len, len);
	sbuf_free(&b);
	assert_null(b.data);
}

static void test_sbuf_sections(void **state)
{
	struct sbuf b;
	sbuf_init(&b);
	size_t mk = sbuf_section_begin(&b, 7);
	for (int i = 0; i < 1000; i++) /* forces several reallocations */
		sbuf_put_u32(&b, (uint32_t)i);
	assert_int_equal(sbuf_section_end(&b, mk), 0);
	assert_int_equal(b.len, 8 + 4000);
	struct sreader r;
	sreader_init(&r, b.data, b.len);
	assert_int_equal(sreader_u32(&r), 7);
	assert_int_equal(sreader_u32(&r), 4000);
	for (uint32_t i = 0; i < 1000; i++)
		assert_int_equal(sreader_u32(&r), i);
	assert_true(sreader_ok(&r));
	assert_int_equal(sreader_remaining(&r), 0);
	sbuf_free(&b);
}

static void test_sreader_truncated(void **state)
{
	static const uint8_t in[] = {1, 2, 3, 4, 5, 0, 0, 0, 'a', 'b'};
	struct sreader r;
	char s[16];
	uint32_t n;
	sreader_init(&r, in, 3);
	assert_int_equal(sreader_u32(&r), 0); /* only 3 bytes */
	assert_false(sreader_ok(&r));
	assert_int_equal(sreader_u8(&r), 0); /* sticky */
	assert_int_equal(sreader_remaining(&r), 0);
	/* string whose length exceeds the input */
	sreader_init(&r, in + 4, 6);
	assert_int_equal(sreader_str(&r, s, sizeof(s)), -EINVAL);
	assert_false(sreader_ok(&r));
	/* string longer than the destination */
	static const uint8_t in2[] = {3, 0, 0, 0, 'a', 'b', 'c'};
	sreader_init(&r, in2, sizeof(in2));
	assert_int_equal(sreader_str(&r, s, 3), -EINVAL);
	sreader_init(&r, in2, sizeof(in2));
	assert_int_equal(sreader_str(&r, s, 4), 0);
	assert_string_equal(s, "abc");
	/* embedded NUL rejected */
	static const uint8_t in3[] = {2, 0, 0, 0, 'a', 0};
	sreader_init(&r, in3, sizeof(in3));
	assert_int_equal(sreader_str(&r, s, sizeof(s)), -EINVAL);
	/* blob over max */
	sreader_init(&r, in2, sizeof(in2));
	assert_null(sreader_blob(&r, 2, &n));
	assert_int_equal(n, 0);
	/* bool must be 0/1 */
	static const uint8_t two = 2;
	sreader_init(&r, &two, 1);
	sreader_bool(&r);
	assert_false(sreader_ok(&r));
	/* huge length does not overflow the bounds check */
	static const uint8_t big[] = {0xff, 0xff, 0xff, 0xff, 1};
	sreader_init(&r, big, sizeof(big));
	assert_null(sreader_blob(&r, SIZE_MAX, &n));
	sreader_init(&r, NULL, 0);
	assert_int_equal(sreader_u8(&r), 0);
	assert_false(sreader_ok(&r));
}

/* A framed valid state file. */
static void build_file(struct sbuf *out, uint64_t magic, const char *version)
{
	struct sbuf p;
	sbuf_init(&p);
	test_payload(&p, 2, 64);
	assert_int_equal(p.err, 0);
	sbuf_init(out);
	assert_int_equal(snap_envelope_encode_ex(magic, version, p.data, p.len, out), 0);
	sbuf_free(&p);
}

static int decode(const struct sbuf *f, struct snap_error *e)
{
	static struct snap_state_view v;
	struct snap_envelope env;
	snap_error_clear(e);
	return snap_state_decode(f->data, f->len, true, &env, &v, e);
}

static void test_envelope_layout(void **state)
{
	struct sbuf f;
	struct snap_error e;
	build_file(&f, SNAP_MAGIC, SNAP_FORMAT_VERSION);
	static const uint8_t head[] = {0x00, 0x00, 0x64, 0x86, 0x84, 0x19, 0x10, 0x07, 5,   0,	0,
				       0,    0,	   0,	 0,    0,    '1',  '.',	 '0',  '.', '0'};
	assert_memory_equal(f.data, head, sizeof(head));
	/* first section is the identity */
	assert_int_equal(f.data[21], SNAP_TAG_IDENTITY);
	assert_true(crc64_jones(0, f.data, f.len) == 0);
	assert_int_equal(decode(&f, &e), 0);
	assert_int_equal(e.variant, SNAP_OK);
	/* deterministic: same input, same bytes */
	struct sbuf g;
	build_file(&g, SNAP_MAGIC, SNAP_FORMAT_VERSION);
	assert_int_equal(f.len, g.len);
	assert_memory_equal(f.data, g.data, f.len);
	sbuf_free(&f);
	sbuf_free(&g);
}

static void test_envelope_crc_short(void **state)
{
	struct sbuf f;
	struct snap_error e;
	build_file(&f, SNAP_MAGIC, SNAP_FORMAT_VERSION);
	/* flipping any single byte (header, payload or trailer) fails the CRC */
	size_t where[] = {0, 9, 30, f.len / 2, f.len - 1};
	for (size_t i = 0; i < ARRAY_SIZE(where); i++) {
		f.data[where[i]] ^= 0x40;
		assert_int_equal(decode(&f, &e), -EINVAL);
		assert_int_equal(e.variant, SNAP_E_CRC_MISMATCH);
		f.data[where[i]] ^= 0x40;
	}
	/* truncated file: CRC fails */
	f.len -= 5;
	assert_int_equal(decode(&f, &e), -EINVAL);
	assert_int_equal(e.variant, SNAP_E_CRC_MISMATCH);
	/* < 8 bytes: TooShort, 0 bytes too */
	f.len = 7;
	decode(&f, &e);
	assert_int_equal(e.variant, SNAP_E_TOO_SHORT);
	f.len = 0;
	decode(&f, &e);
	assert_int_equal(e.variant, SNAP_E_TOO_SHORT);
	assert_string_equal(e.msg, "snapshot file is too short to contain a CRC trailer");
	/* 8 zero bytes: CRC ok (residue 0), header undecodable -> Bitcode */
	memset(f.data, 0, 8);
	f.len = 8;
	decode(&f, &e);
	assert_int_equal(e.variant, SNAP_E_BITCODE);
	sbuf_free(&f);
}

/* Re-frame the file so its CRC is valid after an edit of body byte i. */
static void refix_crc(struct sbuf *f)
{
	uint64_t c = crc64_jones(0, f->data, f->len - 8);
	for (int i = 0; i < 8; i++)
		f->data[f->len - 8 + i] = (uint8_t)(c >> (8 * i));
}

static void test_envelope_magic_version(void **state)
{
	struct sbuf f;
	struct snap_error e;
	build_file(&f, SNAP_MAGIC_AARCH64, SNAP_FORMAT_VERSION);
	assert_int_equal(decode(&f, &e), -EINVAL);
	assert_int_equal(e.variant, SNAP_E_MAGIC_MISMATCH);
	assert_string_equal(e.msg, "snapshot magic mismatch (file: 0x7101984aaaa0000, expected: "
				   "0x710198486640000)");
	sbuf_free(&f);
	static const struct {
		const char *v;
		enum snap_err want;
	} cases[] = {
	    {"1.1.0", SNAP_E_VERSION_MISMATCH},
	    {"2.0.0", SNAP_E_VERSION_MISMATCH},
	    {"0.9.0", SNAP_E_VERSION_MISMATCH},
	    {"1.0.7", SNAP_OK},
	    {"1.0.0", SNAP_OK},
	    {"1.0", SNAP_E_BITCODE},
	    {"1.0.0-rc1", SNAP_E_BITCODE},
	    {"01.0.0", SNAP_E_BITCODE},
	    {"", SNAP_E_BITCODE},
	    {"1..0", SNAP_E_BITCODE},
	    {"1.0.0.0", SNAP_E_BITCODE},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		build_file(&f, SNAP_MAGIC, cases[i].v);
		decode(&f, &e);
		assert_int_equal(e.variant, cases[i].want);
		sbuf_free(&f);
	}
	build_file(&f, SNAP_MAGIC, "1.1.0");
	decode(&f, &e);
	assert_string_equal(e.msg, "snapshot version 1.1.0 is incompatible with squib's 1.0.0");
	/* version string length pointing past the end: Bitcode (CRC fixed up so it is reached) */
	f.data[8] = 0xff;
	refix_crc(&f);
	decode(&f, &e);
	assert_int_equal(e.variant, SNAP_E_BITCODE);
	sbuf_free(&f);
}

/* An older minor would load: simulate with our own minor (0) is the floor; a patch bump and a
 * same-minor file both load, checked above. Here: the size limit boundary. */
static void test_envelope_size_limit(void **state)
{
	struct snap_envelope env;
	struct snap_error e;
	uint8_t *buf = calloc(1, SNAP_SIZE_LIMIT + 1);
	assert_non_null(buf);
	/* exactly the limit: passes the size check, then fails later (CRC) */
	assert_int_equal(snap_envelope_decode(buf, SNAP_SIZE_LIMIT, true, &env, &e), -EINVAL);
	assert_int_not_equal(e.variant, SNAP_E_SIZE_LIMIT);
	assert_int_equal(snap_envelope_decode(buf, SNAP_SIZE_LIMIT + 1, true, &env, &e), -EINVAL);
	assert_int_equal(e.variant, SNAP_E_SIZE_LIMIT);
	assert_string_equal(e.msg, "snapshot exceeds 10000000 byte deserialization limit");
	free(buf);
}

static void test_version_rule(void **state)
{
	/* ours = 1.2.x: older minors and any patch load; newer minor / other major do not */
	assert_true(snap_version_loadable(1, 0, 1, 2));
	assert_true(snap_version_loadable(1, 1, 1, 2));
	assert_true(snap_version_loadable(1, 2, 1, 2));
	assert_false(snap_version_loadable(1, 3, 1, 2));
	assert_false(snap_version_loadable(0, 2, 1, 2));
	assert_false(snap_version_loadable(2, 0, 1, 2));
}

/* Frame a raw payload and decode it. */
static enum snap_err decode_payload(const struct sbuf *p)
{
	struct sbuf f;
	struct snap_error e;
	sbuf_init(&f);
	assert_int_equal(snap_envelope_encode(p->data, p->len, &f), 0);
	decode(&f, &e);
	sbuf_free(&f);
	return e.variant;
}

static void test_payload_roundtrip(void **state)
{
	struct sbuf p, f;
	struct snap_envelope env;
	struct snap_error e;
	static struct snap_state_view v;
	struct snap_vm_info vi;
	sbuf_init(&p);
	test_payload(&p, 3, 256);
	sbuf_init(&f);
	snap_envelope_encode(p.data, p.len, &f);
	assert_int_equal(snap_state_decode(f.data, f.len, true, &env, &v, &e), 0);
	assert_true(env.crc_ok);
	assert_string_equal(env.version, "1.0.0");
	assert_string_equal(v.ident.vmm, "squib");
	test_vm_info(&vi, 3, 256);
	assert_int_equal(v.info.machine.vcpu_count, 3);
	assert_int_equal(v.info.machine.mem_size_mib, 256);
	assert_true(v.info.machine.track_dirty_pages);
	assert_int_equal(v.info.machine.cpu_template, CPU_TEMPLATE_T2S);
	assert_string_equal(v.info.boot.kernel_image_path, vi.boot.kernel_image_path);
	assert_string_equal(v.info.boot.boot_args, vi.boot.boot_args);
	assert_int_equal(v.n_vcpus, 3);
	assert_int_equal(v.vcpu[2].len, 40);
	assert_int_equal(v.vcpu[2].data[0], 0xa2);
	assert_int_equal(v.vm_state.len, 7);
	assert_int_equal(v.n_devices, 2);
	assert_string_equal(v.dev[1].kind, "virtio-block");
	assert_string_equal(v.dev[1].id, "rootfs");
	assert_true(v.dev[1].mmio_base == 0xd0000000ULL);
	assert_int_equal(v.dev[1].irq, 5);
	assert_int_equal(v.dev[1].blob.len, 8);
	assert_int_equal(v.dev[1].blob.data[0], 42);
	assert_int_equal(v.dev[0].blob.len, 4);
	assert_true(v.has_mmds);
	assert_memory_equal(v.mmds.data, "{\"latest\"", 9);
	assert_int_equal(v.mem.nr, 1);
	assert_true(v.mem.file_size == 256 * TEST_MIB);
	assert_int_equal(v.mem.pair_id[3], 51);
	sbuf_free(&p);
	sbuf_free(&f);
}

static void test_payload_incompatible(void **state)
{
	struct sbuf p;
	struct snap_identity id;
	/* another VMM's identity */
	sbuf_init(&p);
	snap_identity_host(&id);
	strcpy(id.vmm, "firecracker");
	snap_sec_identity_put(&p, &id);
	assert_int_equal(decode_payload(&p), SNAP_E_INCOMPATIBLE);
	sbuf_free(&p);
	/* a payload that is not sections at all (e.g. another VMM's encoding) */
	static const uint8_t junk[] = {0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3};
	sbuf_init(&p);
	sbuf_put_bytes(&p, junk, sizeof(junk));
	assert_int_equal(decode_payload(&p), SNAP_E_INCOMPATIBLE);
	sbuf_free(&p);
	/* missing identity: starts with VM info */
	struct snap_vm_info vi;
	test_vm_info(&vi, 1, 64);
	sbuf_init(&p);
	snap_sec_vm_info_put(&p, &vi);
	assert_int_equal(decode_payload(&p), SNAP_E_INCOMPATIBLE);
	sbuf_free(&p);
	/* empty payload: identity missing */
	sbuf_init(&p);
	sbuf_put_u8(&p, 0);
	p.len = 0;
	assert_int_equal(decode_payload(&p), SNAP_E_INCOMPATIBLE);
	sbuf_free(&p);
	/* unknown tag after a valid payload */
	sbuf_init(&p);
	test_payload(&p, 1, 64);
	size_t mk = sbuf_section_begin(&p, 99);
	sbuf_put_u32(&p, 0);
	sbuf_section_end(&p, mk);
	assert_int_equal(decode_payload(&p), SNAP_E_INCOMPATIBLE);
	sbuf_free(&p);
}

static void test_payload_bad_lengths(void **state)
{
	struct sbuf p;
	struct snap_identity id;
	struct snap_vm_info vi;
	struct snap_mem_desc m;
	/* control: a valid payload is fine */
	sbuf_init(&p);
	test_payload(&p, 1, 64);
	assert_int_equal(decode_payload(&p), SNAP_OK);
	/* section length one too long (runs past the payload) */
	p.data[4] += 1;
	assert_int_equal(decode_payload(&p), SNAP_E_INCOMPATIBLE);
	/* one too short: the identity body no longer matches its content */
	p.data[4] -= 2;
	assert_int_equal(decode_payload(&p), SNAP_E_INCOMPATIBLE);
	p.data[4] += 1;
	/* trailing garbage shorter than a section header */
	sbuf_put_u16(&p, 0);
	assert_int_equal(decode_payload(&p), SNAP_E_INCOMPATIBLE);
	sbuf_free(&p);
	/* vCPU count disagrees with VM info (2 declared, payload built for 1 + mem) */
	sbuf_init(&p);
	snap_identity_host(&id);
	snap_sec_identity_put(&p, &id);
	test_vm_info(&vi, 2, 64);
	snap_sec_vm_info_put(&p, &vi);
	snap_sec_vcpu_put(&p, 0, (const uint8_t *)"x", 1);
	snap_sec_vm_state_put(&p, (const uint8_t *)"y", 1);
	test_mem_desc(&m, 64);
	snap_sec_mem_put(&p, &m);
	assert_int_equal(decode_payload(&p), SNAP_E_INCOMPATIBLE);
	sbuf_free(&p);
	/* memory descriptor disagreeing with mem_size_mib */
	sbuf_init(&p);
	test_payload_head(&p, 1, 64);
	test_mem_desc(&m, 32);
	snap_sec_mem_put(&p, &m);
	assert_int_equal(decode_payload(&p), SNAP_E_INCOMPATIBLE);
	sbuf_free(&p);
	/* repeated singleton (two memory descriptors) */
	sbuf_init(&p);
	test_payload(&p, 1, 64);
	test_mem_desc(&m, 64);
	snap_sec_mem_put(&p, &m);
	assert_int_equal(decode_payload(&p), SNAP_E_INCOMPATIBLE);
	sbuf_free(&p);
}

static void test_sections_typed(void **state)
{
	struct sbuf b;
	struct snap_mem_desc m, m2;
	struct snap_blob j;
	sbuf_init(&b);
	memset(&m, 0, sizeof(m));
	m.page_size = 4096;
	m.type = SNAP_DIFF;
	m.nr = 2;
	m.r[0] = (struct snap_mem_region){0, 3ULL << 30, 0};
	m.r[1] = (struct snap_mem_region){4ULL << 30, 1ULL << 30, 3ULL << 30};
	m.file_size = 4ULL << 30;
	m.pair_id[15] = 0x5a;
	assert_int_equal(snap_sec_mem_put(&b, &m), 0);
	assert_int_equal(snap_sec_mem_get(b.data + 8, b.len - 8, &m2), 0);
	assert_memory_equal(&m, &m2, sizeof(m));
	/* regions not concatenated in file order */
	sbuf_free(&b);
	m.r[1].file_offset = 0;
	snap_sec_mem_put(&b, &m);
	assert_int_equal(snap_sec_mem_get(b.data + 8, b.len - 8, &m2), -EINVAL);
	sbuf_free(&b);
	snap_sec_mmds_put(&b, "{}", 2);
	assert_int_equal(snap_sec_mmds_get(b.data + 8, b.len - 8, &j), 0);
	assert_int_equal(j.len, 2);
	assert_int_equal(snap_sec_mmds_get(b.data + 8, b.len - 9, &j), -EINVAL);
	sbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crc64),
	    cmocka_unit_test(test_sbuf_le),
	    cmocka_unit_test(test_sbuf_sections),
	    cmocka_unit_test(test_sreader_truncated),
	    cmocka_unit_test(test_envelope_layout),
	    cmocka_unit_test(test_envelope_crc_short),
	    cmocka_unit_test(test_envelope_magic_version),
	    cmocka_unit_test(test_envelope_size_limit),
	    cmocka_unit_test(test_version_rule),
	    cmocka_unit_test(test_payload_roundtrip),
	    cmocka_unit_test(test_payload_incompatible),
	    cmocka_unit_test(test_payload_bad_lengths),
	    cmocka_unit_test(test_sections_typed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
