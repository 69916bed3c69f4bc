/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_state: libFuzzer target over the state-file envelope decode and the section walk. */
#include "snapshot/snapshot.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct snap_state_view view;

/* Touch every decoded blob so out-of-bounds pointers are caught by ASan. */
static unsigned touch(const struct snap_blob *b)
{
	unsigned s = 0;
	for (uint32_t i = 0; i < b->len; i++)
		s += b->data[i];
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_envelope env;
	struct snap_error e;
	volatile unsigned sink = 0;
	/* Heap copy of exactly size bytes so any over-read is visible. */
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	/* With the CRC (the real load path), then without it so the fuzzer reaches the
	 * header and payload decoders with arbitrary bytes. */
	snap_state_decode(buf, size, true, &env, &view, &e);
	if (snap_state_decode(buf, size, false, &env, &view, &e) == 0) {
		for (uint32_t i = 0; i < view.n_vcpus; i++)
			sink += touch(&view.vcpu[i]);
		for (uint32_t i = 0; i < view.n_devices; i++)
			sink += touch(&view.dev[i].blob);
		sink += touch(&view.vm_state);
		if (view.has_mmds)
			sink += touch(&view.mmds);
	}
	/* The payload walk directly on the raw bytes too. */
	snap_payload_parse(buf, size, &view, &e);
	(void)sink;
	free(buf);
	return 0;
}
