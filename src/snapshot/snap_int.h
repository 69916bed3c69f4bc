/* SPDX-License-Identifier: Apache-2.0 */
/* snap_int: helpers shared by the snapshot module's files (not a public seam). */
#ifndef SQUIB_SNAP_INT_H
#define SQUIB_SNAP_INT_H

#include "snapshot/snapshot.h"

/* Write s into out as a Rust-Debug-style quoted string ("..." with \" \\ \n \t \r escaped,
 * other control bytes as \u{x}, invalid UTF-8 bytes as \xNN), NUL-terminated, truncated at
 * a character boundary if cap is too small. Returns the length written. */
size_t snap_debug_quote(char *out, size_t cap, const char *s);

/* Run the test fault hook for step: 0 to proceed, or a positive errno to fail with. */
int snap_fault(const char *step);

/* Device part of struct vm_config inside the VM-info section (devcfg.c). */
int snap_devcfg_put(struct sbuf *b, const struct vm_config *c);
int snap_devcfg_get(struct sreader *r, struct vm_config *c);

#endif
