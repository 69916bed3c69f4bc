/* SPDX-License-Identifier: Apache-2.0 */
/* cli: Firecracker v1.16.1 command-line flags (facts §3.4) -> struct api_cli. */
#include "api/api.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum opt_kind { OPT_STR, OPT_FLAG, OPT_SIZE, OPT_U64 };

struct opt {
	const char *name;
	enum opt_kind kind;
	size_t off; /* offset into struct api_cli */
	uint64_t min, max;
};

#define O(n, k, f)                                                                                 \
	{                                                                                          \
		n, k, offsetof(struct api_cli, f), 0, UINT64_MAX                                   \
	}
static const struct opt opts[] = {
    O("api-sock", OPT_STR, api_sock),
    O("id", OPT_STR, id),
    O("config-file", OPT_STR, config_file),
    O("no-api", OPT_FLAG, no_api),
    O("metadata", OPT_STR, metadata),
    O("seccomp-filter", OPT_STR, seccomp_filter),
    O("no-seccomp", OPT_FLAG, no_seccomp),
    O("log-path", OPT_STR, log_path),
    O("level", OPT_STR, level),
    O("module", OPT_STR, module),
    O("show-level", OPT_FLAG, show_level),
    O("show-log-origin", OPT_FLAG, show_log_origin),
    O("metrics-path", OPT_STR, metrics_path),
    O("boot-timer", OPT_FLAG, boot_timer),
    O("start-time-us", OPT_U64, start_time_us),
    O("start-time-cpu-us", OPT_U64, start_time_cpu_us),
    O("parent-cpu-time-us", OPT_U64, parent_cpu_time_us),
    O("version", OPT_FLAG, version),
    O("snapshot-version", OPT_FLAG, snapshot_version),
    O("describe-snapshot", OPT_STR, describe_snapshot),
    {"http-api-max-payload-size", OPT_SIZE, offsetof(struct api_cli, max_payload),
     API_MAX_PAYLOAD_MIN, API_MAX_PAYLOAD_MAX},
    {"mmds-size-limit", OPT_SIZE, offsetof(struct api_cli, mmds_limit), 1, UINT32_MAX},
    O("enable-pci", OPT_FLAG, enable_pci),
    O("help", OPT_FLAG, help),
};
#undef O

const char *api_cli_usage(void)
{
	return "squib - a Firecracker v" API_FC_VERSION "-compatible microVM monitor\n"
	       "\n"
	       "Usage: squib [OPTIONS]\n"
	       "\n"
	       "  --api-sock <path>                 API socket (default " API_DEFAULT_SOCK ")\n"
	       "  --id <id>                         microVM id (default " API_DEFAULT_ID ")\n"
	       "  --config-file <path>              JSON configuration; boots immediately\n"
	       "  --no-api                          no API socket (requires --config-file)\n"
	       "  --metadata <path>                 initial MMDS contents (JSON)\n"
	       "  --seccomp-filter <path>           custom seccomp filter\n"
	       "  --no-seccomp                      disable seccomp filtering\n"
	       "  --log-path <path>                 log file or FIFO\n"
	       "  --level <level>                   Error|Warning|Info|Debug|Trace|Off\n"
	       "  --module <name>                   only log lines from this module\n"
	       "  --show-level                      print the level on each log line\n"
	       "  --show-log-origin                 print file:line on each log line\n"
	       "  --metrics-path <path>             metrics file or FIFO\n"
	       "  --boot-timer                      add the boot-timer device\n"
	       "  --start-time-us <us>              set by the jailer\n"
	       "  --start-time-cpu-us <us>          set by the jailer\n"
	       "  --parent-cpu-time-us <us>         set by the jailer\n"
	       "  --http-api-max-payload-size <n>   request body limit (default 51200)\n"
	       "  --mmds-size-limit <n>             MMDS store limit (default: payload limit)\n"
	       "  --enable-pci                      accepted; squib uses virtio-mmio\n"
	       "  --version                         print the version and exit\n"
	       "  --snapshot-version                print the snapshot format version and exit\n"
	       "  --describe-snapshot <path>        describe a snapshot state file and exit\n"
	       "  --help                            print this help and exit\n";
}

static int set_value(const struct opt *o, const char *val, struct api_cli *c, char *err, size_t n)
{
	char *p = (char *)c + o->off;
	char *end;
	if (o->kind == OPT_STR) {
		*(const char **)p = val;
		return 0;
	}
	errno = 0;
	unsigned long long x = strtoull(val, &end, 10);
	if (!*val || *end || errno || val[0] == '-' || x < o->min || x > o->max) {
		snprintf(err, n, "Arguments parsing error: invalid value '%s' for '--%s'", val,
			 o->name);
		return -EINVAL;
	}
	if (o->kind == OPT_SIZE)
		*(size_t *)p = (size_t)x;
	else
		*(uint64_t *)p = x;
	return 0;
}

/* Firecracker's instance id rule: 1 to 64 characters of [A-Za-z0-9-]. */
static bool id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n < 1 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '-')
			return false;
	return true;
}

static int check_combinations(struct api_cli *c, char *err, size_t n)
{
	enum log_level lvl;
	if (c->no_api && !c->config_file) {
		snprintf(err, n, "Arguments parsing error: '--no-api' requires '--config-file'");
		return -EINVAL;
	}
	if (c->no_seccomp && c->seccomp_filter) {
		snprintf(err, n,
			 "Arguments parsing error: '--no-seccomp' cannot be used together with "
			 "'--seccomp-filter'");
		return -EINVAL;
	}
	if (c->level && log_level_parse(c->level, &lvl) < 0) {
		snprintf(err, n, "Arguments parsing error: invalid value '%s' for '--level'",
			 c->level);
		return -EINVAL;
	}
	if (c->id && !id_valid(c->id)) {
		snprintf(err, n, "Arguments parsing error: invalid value '%s' for '--id'", c->id);
		return -EINVAL;
	}
	return 0;
}

int api_cli_parse(int argc, char **argv, struct api_cli *c, char *err, size_t n)
{
	bool seen[ARRAY_SIZE(opts)] = {false};
	memset(c, 0, sizeof(*c));
	c->api_sock = API_DEFAULT_SOCK;
	c->max_payload = API_DEFAULT_MAX_PAYLOAD;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *eq = strchr(a, '=');
		size_t len = eq ? (size_t)(eq - a) : strlen(a);
		const struct opt *o = NULL;
		size_t k;
		for (k = 0; strncmp(a, "--", 2) == 0 && k < ARRAY_SIZE(opts); k++) {
			if (strlen(opts[k].name) == len - 2 &&
			    strncmp(a + 2, opts[k].name, len - 2) == 0) {
				o = &opts[k];
				break;
			}
		}
		if (!o) {
			snprintf(
			    err, n,
			    "Arguments parsing error: Found argument '%s' which wasn't expected, "
			    "or isn't valid in this context.",
			    a);
			return -EINVAL;
		}
		if (seen[k]) {
			snprintf(err, n,
				 "Arguments parsing error: The argument '--%s' was provided more "
				 "than once.",
				 o->name);
			return -EINVAL;
		}
		seen[k] = true;
		if (o->kind == OPT_FLAG) {
			if (eq) {
				snprintf(err, n, "Arguments parsing error: '--%s' takes no value",
					 o->name);
				return -EINVAL;
			}
			*(bool *)((char *)c + o->off) = true;
			continue;
		}
		const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
		if (!val) {
			snprintf(
			    err, n,
			    "Arguments parsing error: The argument '--%s' requires a value, but "
			    "none was supplied",
			    o->name);
			return -EINVAL;
		}
		if (set_value(o, val, c, err, n) < 0)
			return -EINVAL;
		if (strcmp(o->name, "mmds-size-limit") == 0)
			c->mmds_limit_set = true;
	}
	if (!c->mmds_limit_set)
		c->mmds_limit = c->max_payload;
	return check_combinations(c, err, n);
}
