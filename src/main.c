/* SPDX-License-Identifier: Apache-2.0 */
/* squib: command line (Firecracker v1.16.1 compatible). */
#include "base/base.h"
#include "squib_version.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--version") == 0) {
			printf("squib v%s (Firecracker API v1.16.1)\n", SQUIB_VERSION);
			return 0;
		}
	}
	fprintf(stderr, "squib: not yet able to boot\n");
	return 1;
}
