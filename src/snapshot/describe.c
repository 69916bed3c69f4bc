/* SPDX-License-Identifier: Apache-2.0 */
/* describe: human summary of a state file (--describe-snapshot), tolerant of a bad CRC. */
#include "snapshot/snap_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int snapshot_mem_path_guess(const char *state_path, char *out, size_t cap)
{
	const char *slash = strrchr(state_path, '/');
	const char *base = slash ? slash + 1 : state_path;
	const char *dot = strrchr(base, '.');
	size_t stem = dot && dot != base ? (size_t)(dot - state_path) : strlen(state_path);
	if (stem + sizeof(".mem") > cap)
		return -ENAMETOOLONG;
	memcpy(out, state_path, stem);
	memcpy(out + stem, ".mem", sizeof(".mem"));
	return 0;
}

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

static void describe_memory(const char *path, const struct snap_state_view *v, FILE *out)
{
	char mem[VM_PATH_MAX + 8];
	uint8_t id[SNAP_PAIR_ID_LEN];
	struct stat st;
	if (snapshot_mem_path_guess(path, mem, sizeof(mem)) < 0) {
		fprintf(out, "memory file: (none)\n");
		return;
	}
	if (stat(mem, &st) < 0) {
		fprintf(out, "memory file: %s (MISSING)\n", mem);
		return;
	}
	int rc = snap_pair_id_get(mem, -1, id);
	const char *pair = rc == 0 && memcmp(id, v->mem.pair_id, SNAP_PAIR_ID_LEN) == 0
			       ? "pair ok"
			       : "pair MISMATCH";
	bool size_ok = (uint64_t)st.st_size == v->mem.file_size;
	fprintf(out, "memory file: %s (%lld bytes%s, %s)\n", mem, (long long)st.st_size,
		size_ok ? "" : ", size MISMATCH", pair);
}

static void describe_view(const char *path, const struct snap_state_view *v, FILE *out)
{
	fprintf(out, "vmm: %s %s\n", v->ident.vmm, v->ident.vmm_version);
	fprintf(out, "vcpu_count: %u\n", v->info.machine.vcpu_count);
	fprintf(out, "mem_size_mib: %" PRIu64 "\n", v->info.machine.mem_size_mib);
	fprintf(out, "track_dirty_pages: %s\n",
		v->info.machine.track_dirty_pages ? "true" : "false");
	fprintf(out, "snapshot_type: %s\n", v->mem.type == SNAP_DIFF ? "Diff" : "Full");
	fprintf(out, "devices: %u\n", v->n_devices);
	for (uint32_t i = 0; i < v->n_devices; i++)
		fprintf(out, "  - %s: %s (mmio 0x%" PRIx64 ", irq %u, %u bytes)\n", v->dev[i].kind,
			v->dev[i].id, v->dev[i].mmio_base, v->dev[i].irq, v->dev[i].blob.len);
	fprintf(out, "mmds_present: %s\n", yes_no(v->has_mmds));
	fprintf(out, "pair_id: ");
	for (int i = 0; i < SNAP_PAIR_ID_LEN; i++)
		fprintf(out, "%02x", v->mem.pair_id[i]);
	fprintf(out, "\n");
	describe_memory(path, v, out);
}

int snapshot_describe(const char *path, FILE *out)
{
	struct snap_error e;
	struct snap_envelope env;
	uint8_t *buf;
	size_t len;
	fprintf(out, "state file: %s\n", path);
	if (snap_file_read_limited(path, SNAP_SIZE_LIMIT, &buf, &len, &e) < 0) {
		fprintf(out, "error: %s\n", e.msg);
		return 1;
	}
	struct snap_state_view *v = calloc(1, sizeof(*v));
	if (!v) {
		free(buf);
		fprintf(out, "error: out of memory\n");
		return 1;
	}
	/* CRC-checked first; a CRC failure falls back to a decode without it. */
	int rc = snap_state_decode(buf, len, true, &env, v, &e);
	if (rc < 0 && e.variant == SNAP_E_CRC_MISMATCH)
		rc = snap_state_decode(buf, len, false, &env, v, &e);
	if (env.version[0]) {
		fprintf(out, "magic: 0x%016" PRIx64 "\n", env.magic);
		fprintf(out, "version: %s\n", env.version);
		if (strcmp(env.version, SNAP_FORMAT_VERSION) != 0)
			fprintf(out, "expected (squib): %s\n", SNAP_FORMAT_VERSION);
	}
	if (rc == 0)
		describe_view(path, v, out);
	else
		fprintf(out, "error: %s\n", e.msg);
	bool crc_ok = len >= 8 && len <= SNAP_SIZE_LIMIT && crc64_jones(0, buf, len) == 0;
	fprintf(out, "crc_ok: %s\n", crc_ok ? "yes" : "NO");
	free(v);
	free(buf);
	if (len >= 8 && len <= SNAP_SIZE_LIMIT && !crc_ok)
		return 2;
	return rc < 0 ? 1 : 0;
}
