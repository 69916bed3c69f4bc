/* SPDX-License-Identifier: Apache-2.0 */
/* squib: command line (Firecracker v1.16.1 compatible): CLI, config file, API loop. */
#include "api/api.h"
#include "base/base.h"
#include "squib_version.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_PERIOD_US (60ULL * 1000000ULL)

static struct {
	bool exit_requested;
	int exit_code;
} g_main;

/* vmm_exit_fn: the guest stopped for good (reset, power-off, fatal error). VMM thread. */
static void main_on_exit(void *ctx, int code)
{
	g_main.exit_requested = true;
	g_main.exit_code = code;
	LOG_INF("microVM exited with code %d", code);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;
	if (!f)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = (n + 4096 + 1) * 2;
			char *b = realloc(buf, cap);
			if (!b)
				break;
			buf = b;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0) {
			fclose(f);
			buf[n] = 0;
			*len = n;
			return buf;
		}
	}
	fclose(f);
	free(buf);
	return NULL;
}

static int setup_logging(const struct api_cli *c)
{
	enum log_level lvl = LOG_INFO;
	log_set_instance_id(c->id ? c->id : API_DEFAULT_ID);
	if (!c->log_path && !c->level && !c->show_level && !c->show_log_origin && !c->module)
		return 0;
	if (c->level)
		log_level_parse(c->level, &lvl);
	log_set_module(c->module);
	int rc = log_configure(c->log_path, lvl, c->show_level, c->show_log_origin);
	if (rc < 0)
		fprintf(stderr, "squib: cannot open the log file %s: %s\n", c->log_path,
			strerror(-rc));
	return rc;
}

/* Replay --config-file then InstanceStart. Returns 0 or an exit code. */
static int run_config_file(struct api_vm *vm, const char *path)
{
	char err[2048];
	size_t len;
	char *text = read_file(path, &len);
	if (!text) {
		LOG_ERR("--config-file: cannot read %s: %s", path, strerror(errno));
		fprintf(stderr, "squib: --config-file: cannot read %s: %s\n", path,
			strerror(errno));
		return API_EXIT_BAD_CONFIGURATION;
	}
	int rc = api_config_replay(vm, text, len, err, sizeof(err));
	free(text);
	if (rc == 0) {
		struct api_action *a = calloc(1, sizeof(*a)); /* ~80 KiB: not on the stack */
		struct api_response r = {0};
		if (!a)
			return API_EXIT_GENERIC;
		a->kind = API_START;
		api_exec(vm, a, &r);
		free(a);
		if (r.status >= 300) {
			json_t *j = json_loads(r.body ? r.body : "", 0, NULL);
			snprintf(err, sizeof(err), "InstanceStart failed: %s",
				 json_string_value(json_object_get(j, "fault_message")));
			json_decref(j);
			rc = -EINVAL;
		}
		api_response_free(&r);
	}
	if (rc < 0) {
		LOG_ERR("Building VMM configured from cmdline json failed: %s", err);
		fprintf(stderr, "squib: building the microVM from %s failed: %s\n", path, err);
		return API_EXIT_BAD_CONFIGURATION;
	}
	return 0;
}

static int early_exit(const struct api_cli *c)
{
	if (c->help) {
		fputs(api_cli_usage(), stdout);
		return 0;
	}
	if (c->version) {
		printf("Firecracker v%s (squib v%s)\n", API_FC_VERSION, SQUIB_VERSION);
		return 0;
	}
	if (c->snapshot_version) {
		printf("v%s\n", API_SNAP_FORMAT_VERSION);
		return 0;
	}
	int rc = snapshot_describe(c->describe_snapshot, stdout);
	return rc < 0 ? (rc == -EBADMSG ? 2 : API_EXIT_GENERIC) : rc;
}

static int run(const struct api_cli *c, struct evloop *loop, struct api_vm *vm)
{
	char err[1024];
	struct api_server *srv = NULL;
	int rc;
	if (c->metadata && api_metadata_load(vm, c->metadata, err, sizeof(err)) < 0) {
		LOG_ERR("--metadata: %s", err);
		fprintf(stderr, "squib: --metadata: %s\n", err);
		return API_EXIT_BAD_CONFIGURATION;
	}
	if (c->config_file && (rc = run_config_file(vm, c->config_file)) != 0)
		return rc;
	if (!c->no_api) {
		rc = api_server_start(c->api_sock, vm, c->max_payload, &srv);
		if (rc < 0) {
			LOG_ERR("Failed to open the API socket %s: %s", c->api_sock, strerror(-rc));
			fprintf(stderr, "squib: cannot open the API socket %s: %s\n", c->api_sock,
				strerror(-rc));
			return API_EXIT_GENERIC;
		}
	}
	uint64_t now = time_mono_us(), cpu = time_cpu_us() + c->parent_cpu_time_us;
	if (c->start_time_us && now >= c->start_time_us) /* the jailer's start stamps */
		api_metrics_startup(now - c->start_time_us,
				    cpu >= c->start_time_cpu_us ? cpu - c->start_time_cpu_us : 0);
	const char *hook = getenv("SQUIB_TEST_METRICS_PERIOD_MS"); /* test hook */
	uint64_t period = hook && atoi(hook) > 0 ? (uint64_t)atoi(hook) * 1000 : METRICS_PERIOD_US;
	int tick_ms = period < 1000000 ? (int)(period / 1000) : 1000;
	uint64_t next_flush = time_mono_us() + period;
	while (!g_main.exit_requested) {
		rc = evloop_run_once(loop, tick_ms);
		if (rc < 0 && rc != -EINTR) {
			LOG_ERR("event loop failed: %s", strerror(-rc));
			g_main.exit_code = API_EXIT_UNEXPECTED;
			break;
		}
		if (time_mono_us() >= next_flush) {
			next_flush = time_mono_us() + period;
			if (api_metrics_is_open())
				api_metrics_flush();
		}
	}
	if (api_metrics_is_open())
		api_metrics_flush();
	api_server_stop(srv);
	return g_main.exit_code;
}

int main(int argc, char **argv)
{
	struct api_cli cli;
	struct evloop *loop = NULL;
	char err[512];
	if (argc >= 2 && strcmp(argv[1], "snapshot") == 0) /* squib snapshot rebase DIFF BASE */
		return snapshot_rebase_main(argc - 2, argv + 2);
	if (api_cli_parse(argc, argv, &cli, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n\nFor more information try --help.\n", err);
		return API_EXIT_ARG_PARSING;
	}
	if (cli.help || cli.version || cli.snapshot_version || cli.describe_snapshot)
		return early_exit(&cli);
	signal(SIGPIPE, SIG_IGN);
	pthread_setname_np(pthread_self(), "main"); /* log lines say [id:main] as Firecracker's */
	if (setup_logging(&cli) < 0)
		return API_EXIT_GENERIC;
	if (cli.metrics_path && api_metrics_open(cli.metrics_path) < 0) {
		fprintf(stderr, "squib: cannot open the metrics file %s\n", cli.metrics_path);
		return API_EXIT_GENERIC;
	}
	if (evloop_create(&loop) < 0) {
		fprintf(stderr, "squib: cannot create the event loop\n");
		return API_EXIT_GENERIC;
	}
	struct api_vm *vm = malloc(sizeof(*vm));
	if (!vm)
		return API_EXIT_GENERIC;
	api_vm_init(vm, cli.id, loop, main_on_exit, NULL, cli.mmds_limit);
	vm->cfg.boot_timer = cli.boot_timer;
	if (getenv("SQUIB_TEST_FAKE_VMM")) { /* test hook: exercise the API without KVM */
		vm->ops = &api_vmm_ops_fake;
		LOG_WARNING("SQUIB_TEST_FAKE_VMM: using the KVM-less stand-in VMM");
	}
	LOG_INF("Running squib v%s (Firecracker API v%s)", SQUIB_VERSION, API_FC_VERSION);
	int code = run(&cli, loop, vm);
	api_vm_fini(vm);
	free(vm);
	evloop_destroy(loop);
	return code;
}
