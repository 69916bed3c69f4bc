/* SPDX-License-Identifier: Apache-2.0 */
/* paths: snapshot path validation before any I/O (InvalidPath, AtomicCommitCrossFs). */
#include "snapshot/snap_int.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

int snap_path_parent(const char *path, char *out, size_t cap)
{
	const char *slash = strrchr(path, '/');
	size_t n;
	if (!slash) {
		path = ".";
		n = 1;
	} else {
		n = slash == path ? 1 : (size_t)(slash - path);
	}
	if (n >= cap)
		return -ENAMETOOLONG;
	memcpy(out, path, n);
	out[n] = '\0';
	return 0;
}

static bool path_has_dotdot(const char *p, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t j = i;
		while (j < len && p[j] != '/')
			j++;
		if (j - i == 2 && p[i] == '.' && p[i + 1] == '.')
			return true;
		i = j + 1;
	}
	return false;
}

int snap_path_validate_chars(const char *path, size_t len, struct snap_error *e)
{
	if (!path || len == 0)
		return snap_error_set(e, SNAP_E_INVALID_PATH, "path is empty");
	if (memchr(path, '\0', len))
		return snap_error_set(e, SNAP_E_INVALID_PATH, "path contains a NUL byte");
	if (len > SNAP_PATH_MAX)
		return snap_error_set(e, SNAP_E_INVALID_PATH, "path exceeds 4095 bytes");
	if (path_has_dotdot(path, len))
		return snap_error_set(e, SNAP_E_INVALID_PATH, "path contains a '..' component");
	return 0;
}

int snap_path_validate_n(const char *path, size_t len, struct snap_error *e)
{
	char parent[VM_PATH_MAX], reason[VM_PATH_MAX + 64];
	struct stat st;
	int r = snap_path_validate_chars(path, len, e);
	if (r < 0)
		return r;
	if (snap_path_parent(path, parent, sizeof(parent)) < 0)
		return snap_error_set(e, SNAP_E_INVALID_PATH, "path exceeds 4095 bytes");
	if (stat(parent, &st) < 0 || !S_ISDIR(st.st_mode)) {
		static const char pre[] = "parent directory does not exist: ";
		memcpy(reason, pre, sizeof(pre));
		snap_debug_quote(reason + sizeof(pre) - 1, sizeof(reason) - sizeof(pre) + 1,
				 parent);
		return snap_error_set(e, SNAP_E_INVALID_PATH, reason);
	}
	return 0;
}

int snap_path_validate(const char *path, struct snap_error *e)
{
	return snap_path_validate_n(path, path ? strnlen(path, SNAP_PATH_MAX + 1) : 0, e);
}

int snap_path_check_same_fs(const char *dest, const char *temp_dir, struct snap_error *e)
{
	struct stat t, d;
	char parent[VM_PATH_MAX];
	if (stat(temp_dir, &t) < 0)
		return snap_error_set(e, SNAP_E_IO, errno);
	if (lstat(dest, &d) < 0) {
		if (errno != ENOENT)
			return snap_error_set(e, SNAP_E_IO, errno);
		if (snap_path_parent(dest, parent, sizeof(parent)) < 0)
			return snap_error_set(e, SNAP_E_IO, ENAMETOOLONG);
		if (stat(parent, &d) < 0)
			return snap_error_set(e, SNAP_E_IO, errno);
	}
	if (t.st_dev != d.st_dev)
		return snap_error_set(e, SNAP_E_ATOMIC_COMMIT_CROSS_FS, dest, temp_dir);
	return 0;
}
