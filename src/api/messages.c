/* SPDX-License-Identifier: Apache-2.0 */
/* messages: every wire-visible API message, in one table (golden-tested byte for byte). */
#include "api/api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DESER "An error occurred when deserializing the json body of a request: "

static const struct {
	const char *name;
	const char *fmt;
} msgs[MSG_COUNT] = {
#define M(id, text) [id] = {#id, text}
    M(MSG_BAD_ROUTE, "Invalid request method and/or path: %s %s."),
    M(MSG_EMPTY_PUT, "Empty PUT request."),
    M(MSG_EMPTY_PATCH, "Empty PATCH request."),
    M(MSG_GET_BODY, "GET request cannot have a body."),
    M(MSG_PAYLOAD_TOO_LARGE,
      "Request payload with size %zu is larger than the limit of %zu allowed by server."),
    M(MSG_JSON_SYNTAX, DESER "%s at line %d column %d."),
    M(MSG_JSON_NOT_OBJECT, DESER "invalid type: expected a JSON object."),
    M(MSG_JSON_UNKNOWN_FIELD, DESER "unknown field `%s`."),
    M(MSG_JSON_MISSING_FIELD, DESER "missing field `%s`."),
    M(MSG_JSON_TYPE, DESER "invalid type for field `%s`: expected %s."),
    M(MSG_JSON_RANGE, DESER "invalid value for field `%s`: expected %s."),
    M(MSG_JSON_VARIANT, DESER "unknown variant `%s` for field `%s`, expected one of %s."),
    M(MSG_NOT_BEFORE_START,
      "The requested operation is not supported before starting the microVM."),
    M(MSG_NOT_AFTER_START, "The requested operation is not supported after starting the microVM."),
    M(MSG_LOAD_AFTER_CONFIG,
      "Loading a microVM snapshot not allowed after configuring boot-specific resources."),
    M(MSG_CREATE_NOT_PAUSED,
      "Cannot create a snapshot of a microVM that is not paused. Pause it first with PATCH /vm."),
    M(MSG_NO_KERNEL, "Cannot start microvm without kernel configuration."),
    M(MSG_START_FAILED, "Cannot start the microVM: %s"),
    M(MSG_VCPU_COUNT,
      "The number of vCPUs must be greater than 0, less than 32 and must be 1 or an "
      "even number if SMT is enabled."),
    M(MSG_MEM_SIZE, "The memory size (MiB) is either 0, or not a multiple of the configured page "
		    "size."),
    M(MSG_BALLOON_MEM,
      "The memory size (MiB) is smaller than the previously set balloon device target size."),
    M(MSG_ID_MISMATCH, "The id from the path does not match the id from the body!"),
    M(MSG_ID_INVALID, "Invalid ID `%s`: must be 1 to 64 characters of [A-Za-z0-9_]."),
    M(MSG_ROOT_DRIVE_EXISTS, "A root block device already exists!"),
    M(MSG_TOO_MANY_DRIVES, "Too many block devices: squib supports at most %u."),
    M(MSG_TOO_MANY_NETS, "Too many network interfaces: squib supports at most %u."),
    M(MSG_DRIVE_NOT_FOUND, "Invalid block device ID: %s does not exist."),
    M(MSG_NET_NOT_FOUND, "Invalid network interface ID: %s does not exist."),
    M(MSG_MAC_IN_USE, "The MAC address is already in use: %s"),
    M(MSG_TAP_IN_USE, "The host device name is already in use: %s"),
    M(MSG_BALLOON_NONE, "No balloon device found."),
    M(MSG_BALLOON_TOO_LARGE, "Amount of pages requested is too large."),
    M(MSG_BALLOON_STATS_DISABLED, "Statistics for the balloon device are not enabled"),
    M(MSG_MMDS_NOT_INIT, "The MMDS data store is not initialized."),
    M(MSG_MMDS_LIMIT, "The MMDS data store size limit of %zu bytes would be exceeded."),
    M(MSG_MMDS_NOT_OBJECT, "The MMDS data store accepts only a JSON object."),
    M(MSG_MMDS_IFACE_EMPTY,
      "The list of network interface IDs that allow forwarding MMDS requests is empty."),
    M(MSG_MMDS_IFACE_UNKNOWN, "The list of network interface IDs provided contains at least one "
			      "ID that does not correspond to any existing network interface."),
    M(MSG_MMDS_IPV4, "The MMDS IPv4 address is not link local."),
    M(MSG_LOAD_MISSING_MEM, "missing field: either `mem_backend` or `mem_file_path` is required"),
    M(MSG_LOAD_TOO_MANY_MEM,
      "too many fields: either `mem_backend` or `mem_file_path` exclusively is required"),
    M(MSG_LOAD_DEPRECATED,
      "PUT /snapshot/load: mem_file_path and enable_diff_snapshots fields are deprecated."),
    M(MSG_UNSUPPORTED, "%s %s is not supported by squib (no hot-plug, pmem or memory hot-plug)."),
    M(MSG_PAUSE_TIMEOUT, "a vCPU did not ack quiesce within the timeout"),
    M(MSG_ACTION_TIMEOUT, "VMM action timed out: %s"),
    M(MSG_QUEUE_FULL, "VMM action queue is full"),
    M(MSG_VMM_GONE, "VMM event loop is gone"),
    M(MSG_LOGGER_OPEN, "Cannot open the log file %s: %s (os error %d)"),
    M(MSG_METRICS_OPEN, "Cannot open the metrics file %s: %s (os error %d)"),
    M(MSG_METRICS_NONE, "The metrics system is not initialized."),
    M(MSG_DEVICE_UPDATE, "Unable to update the %s device: %s"),
    M(MSG_VM_STATE_FAILED, "Cannot %s the microVM: %s"),
    M(MSG_CONFIG_READ, "Cannot read the configuration file %s: %s"),
    M(MSG_CONFIG_KEY, "--config-file: unknown key `%s`"),
    M(MSG_CONFIG_ACTION, "--config-file: `%s` rejected: %s"),
    M(MSG_OUT_OF_MEMORY, "Out of memory while handling the request."),
    M(MSG_MALFORMED_HTTP, "Malformed HTTP request."),
#undef M
};

const char *api_msg_fmt(enum api_msg id)
{
	if ((unsigned)id >= MSG_COUNT)
		return NULL;
	return msgs[id].fmt;
}

const char *api_msg_name(enum api_msg id)
{
	if ((unsigned)id >= MSG_COUNT)
		return NULL;
	return msgs[id].name;
}

int api_fail_text(struct api_response *r, int status, const char *msg)
{
	json_t *j = json_pack("{s:s}", "fault_message", msg ? msg : "");
	free(r->body);
	r->status = status;
	r->body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return -EINVAL;
}

int api_failv(struct api_response *r, int status, enum api_msg id, va_list ap)
{
	char buf[2048];
	const char *fmt = api_msg_fmt(id);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	vsnprintf(buf, sizeof(buf), fmt ? fmt : "internal error", ap);
#pragma GCC diagnostic pop
	return api_fail_text(r, status, buf);
}

int api_fail(struct api_response *r, int status, enum api_msg id, ...)
{
	va_list ap;
	va_start(ap, id);
	int rc = api_failv(r, status, id, ap);
	va_end(ap);
	return rc;
}

void api_ok_json(struct api_response *r, json_t *j)
{
	free(r->body);
	r->status = 200;
	r->body = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(j);
}

void api_response_free(struct api_response *r)
{
	free(r->body);
	r->body = NULL;
}
