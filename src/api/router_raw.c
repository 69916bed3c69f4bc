/* SPDX-License-Identifier: Apache-2.0 */
/* router_raw: route a raw HTTP/1.1 request held in memory (fuzzing and tests, no socket). */
#include "api/api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Parse "METHOD SP PATH[?query] SP HTTP/1.x CRLF headers CRLF CRLF body" and route it.
 * Returns 0 with a typed action, or -EINVAL with r holding the 4xx answer. */
int api_route_raw(const uint8_t *data, size_t len, struct api_action *a, struct api_response *r)
{
	const char *p = (const char *)data;
	const char *end = p + len;
	const char *hdr_end = NULL;
	char method[16], path[1024];
	for (const char *q = p; q + 4 <= end; q++) {
		if (memcmp(q, "\r\n\r\n", 4) == 0) {
			hdr_end = q;
			break;
		}
	}
	memset(a, 0, sizeof(*a));
	const char *sp1 = hdr_end ? memchr(p, ' ', (size_t)(hdr_end - p)) : NULL;
	const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(hdr_end - sp1 - 1)) : NULL;
	if (!sp2 || (size_t)(sp1 - p) >= sizeof(method) || (size_t)(sp2 - sp1 - 1) >= sizeof(path))
		return api_fail(r, 400, MSG_MALFORMED_HTTP);
	memcpy(method, p, (size_t)(sp1 - p));
	method[sp1 - p] = 0;
	memcpy(path, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	path[sp2 - sp1 - 1] = 0;
	if (memchr(method, 0, (size_t)(sp1 - p)) || strlen(path) != (size_t)(sp2 - sp1 - 1))
		return api_fail(r, 400, MSG_MALFORMED_HTTP);
	char *qm = strchr(path, '?');
	if (qm)
		*qm = 0;
	enum api_method m = api_method_parse(method);
	if (m == API_M_OTHER)
		return api_fail(r, 400, MSG_BAD_ROUTE, method, path);
	const char *body = hdr_end + 4;
	return api_route(m, path, body, (size_t)(end - body), a, r);
}
