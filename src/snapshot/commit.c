/* SPDX-License-Identifier: Apache-2.0 */
/* commit: atomic create of a snapshot pair (temp files, fsync, renames with rollback), and
 * reading a state file back. */
#include "snapshot/snap_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int (*snap_fault_hook)(const char *step);

int snap_fault(const char *step)
{
	return snap_fault_hook ? snap_fault_hook(step) : 0;
}

/* One destination being committed. After a successful exchange, tmp holds the previous
 * file (rollback material); after a plain rename (no previous file), tmp is gone. */
struct snap_tmp {
	char dest[VM_PATH_MAX];
	char tmp[VM_PATH_MAX + sizeof(SNAP_TMP_SUFFIX)];
	const char *step; /* "rename.mem" ... */
	int fd;
	bool created, committed, exchanged;
};

static int tmp_open(struct snap_tmp *t, const char *dest, const char *step)
{
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	t->step = step;
	if ((size_t)snprintf(t->dest, sizeof(t->dest), "%s", dest) >= sizeof(t->dest) ||
	    (size_t)snprintf(t->tmp, sizeof(t->tmp), "%s%s", dest, SNAP_TMP_SUFFIX) >=
		sizeof(t->tmp))
		return -ENAMETOOLONG;
	t->fd = open(t->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (t->fd < 0)
		return -errno;
	t->created = true;
	return 0;
}

static int tmp_sync_close(struct snap_tmp *t, const char *step)
{
	int f = snap_fault(step);
	int rc = f ? -f : (fsync(t->fd) < 0 ? -errno : 0);
	if (close(t->fd) < 0 && rc == 0)
		rc = -errno;
	t->fd = -1;
	return rc;
}

/* Put tmp in place of dest: exchange when dest exists (keeps the old file for rollback),
 * plain rename otherwise. */
static int tmp_commit(struct snap_tmp *t)
{
	struct stat st;
	int f = snap_fault(t->step);
	if (f)
		return -f;
	if (lstat(t->dest, &st) < 0 || !S_ISREG(st.st_mode))
		goto plain;
	if (renameat2(AT_FDCWD, t->tmp, AT_FDCWD, t->dest, RENAME_EXCHANGE) == 0) {
		t->exchanged = t->committed = true;
		return 0;
	}
	if (errno != ENOENT && errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
		return -errno;
plain:
	if (rename(t->tmp, t->dest) < 0)
		return -errno;
	t->committed = true;
	return 0;
}

/* Undo a commit (restore the previous file or remove the new one); remove the temp file. */
static void tmp_abort(struct snap_tmp *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	if (t->committed && t->exchanged)
		renameat2(AT_FDCWD, t->tmp, AT_FDCWD, t->dest, RENAME_EXCHANGE);
	else if (t->committed)
		unlink(t->dest);
	if (t->created)
		unlink(t->tmp);
	t->created = t->committed = false;
}

/* After the whole pair is committed: the temp names hold the previous files; drop them. */
static void tmp_finish(struct snap_tmp *t)
{
	if (t->exchanged)
		unlink(t->tmp);
	t->created = t->committed = false;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int dir_fsync(const char *path)
{
	char parent[VM_PATH_MAX];
	int f = snap_fault("dir.fsync");
	if (f)
		return -f;
	if (snap_path_parent(path, parent, sizeof(parent)) < 0)
		return -ENAMETOOLONG;
	int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

/* Step 1: validate the request before any file is touched. */
static int pair_validate(const struct snap_create_req *r, bool track, const uint64_t *dirty,
			 struct snap_error *e)
{
	const char *paths[2] = {r->mem_file_path, r->snapshot_path};
	char parent[VM_PATH_MAX];
	for (int i = 0; i < 2; i++) {
		int rc = snap_path_validate(paths[i], e);
		if (rc < 0)
			return rc;
	}
	if (strcmp(r->mem_file_path, r->snapshot_path) == 0)
		return snap_error_set(e, SNAP_E_INVALID_PATH,
				      "snapshot_path and mem_file_path are the same file");
	if (r->type == SNAP_DIFF && !track)
		return snap_error_set(e, SNAP_E_INVALID_PATH,
				      "Diff snapshot requested but track_dirty_pages is false");
	if (r->type == SNAP_DIFF && !dirty)
		return snap_error_set(e, SNAP_E_CAPTURE, "Diff snapshot without a dirty bitmap");
	for (int i = 0; i < 2; i++) {
		snap_path_parent(paths[i], parent, sizeof(parent));
		int rc = snap_path_check_same_fs(paths[i], parent, e);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Step 2: the state file bytes (payload + memory descriptor, framed). */
static int pair_encode(const struct sbuf *payload, const struct gmem *mem, enum snap_type type,
		       const uint8_t id[SNAP_PAIR_ID_LEN], struct sbuf *out, struct snap_error *e)
{
	struct snap_mem_desc d;
	struct sbuf p;
	memset(&d, 0, sizeof(d));
	d.page_size = PAGE_SIZE;
	d.type = (uint8_t)type;
	d.file_size = mem->total;
	memcpy(d.pair_id, id, SNAP_PAIR_ID_LEN);
	d.nr = mem->nr;
	for (unsigned i = 0; i < mem->nr && i < GMEM_MAX_REGIONS; i++)
		d.r[i] =
		    (struct snap_mem_region){mem->r[i].gpa, mem->r[i].size, mem->r[i].file_offset};
	sbuf_init(&p);
	sbuf_put_bytes(&p, payload->data, payload->len);
	snap_sec_mem_put(&p, &d);
	int rc = p.err ? p.err : payload->err;
	if (rc == 0)
		rc = snap_envelope_encode(p.data, p.len, out);
	sbuf_free(&p);
	if (rc < 0)
		return snap_error_set(e, SNAP_E_CAPTURE, "state encoding failed");
	if (out->len > SNAP_SIZE_LIMIT)
		return snap_error_set(e, SNAP_E_SIZE_LIMIT, (uint64_t)SNAP_SIZE_LIMIT);
	/* Never write a state file that would not load: run the load checks on it. */
	struct snap_state_view *v = malloc(sizeof(*v));
	struct snap_envelope env;
	struct snap_error ign;
	if (!v)
		return snap_error_set(e, SNAP_E_CAPTURE, "out of memory");
	rc = snap_state_decode(out->data, out->len, true, &env, v, &ign);
	free(v);
	if (rc < 0)
		return snap_error_set(e, SNAP_E_CAPTURE,
				      "state payload does not pass the load checks");
	return 0;
}

struct pair_files {
	struct snap_tmp mem, pid, state;
	bool use_pid; /* xattrs unsupported: "<mem>.pairid" sibling */
};

/* Step 3a: memory temp file with its pair id (xattr, or the sibling fallback). */
static int pair_write_mem(struct pair_files *pf, const struct snap_create_req *r,
			  const struct gmem *mem, const uint64_t *dirty,
			  const uint8_t id[SNAP_PAIR_ID_LEN], struct snap_error *e)
{
	char path[VM_PATH_MAX + 16], txt[SNAP_PAIR_TEXT_MAX];
	int rc = tmp_open(&pf->mem, r->mem_file_path, "rename.mem");
	if (rc < 0)
		return snap_error_set(e, SNAP_E_MEMORY_IO, -rc);
	rc = r->type == SNAP_DIFF ? snap_memfile_write_diff(pf->mem.fd, mem, dirty, e)
				  : snap_memfile_write_full(pf->mem.fd, mem, e);
	if (rc < 0)
		return rc;
	rc = snap_pair_id_set_fd(pf->mem.fd, id);
	if (rc == -ENOTSUP) {
		pf->use_pid = true;
		snprintf(path, sizeof(path), "%s%s", r->mem_file_path, SNAP_PAIR_SUFFIX);
		rc = tmp_open(&pf->pid, path, "rename.pairid");
		struct stat st;
		if (rc == 0 && fstat(pf->mem.fd, &st) < 0)
			rc = -errno;
		size_t n = rc == 0 ? snap_pair_sibling_text(txt, id, (uint64_t)st.st_ino) : 0;
		int f = snap_fault("pairid.write");
		if (rc == 0)
			rc = f ? -f : write_all(pf->pid.fd, (const uint8_t *)txt, n);
		if (rc == 0)
			rc = tmp_sync_close(&pf->pid, "pairid.fsync");
	}
	if (rc == 0)
		rc = tmp_sync_close(&pf->mem, "mem.fsync");
	return rc < 0 ? snap_error_set(e, SNAP_E_MEMORY_IO, -rc) : 0;
}

/* Step 3b: state temp file. */
static int pair_write_state(struct pair_files *pf, const char *dest, const struct sbuf *st,
			    struct snap_error *e)
{
	int rc = tmp_open(&pf->state, dest, "rename.state");
	if (rc == 0) {
		int f = snap_fault("state.write");
		rc = f ? -f : write_all(pf->state.fd, st->data, st->len);
	}
	if (rc == 0)
		rc = tmp_sync_close(&pf->state, "state.fsync");
	return rc < 0 ? snap_error_set(e, SNAP_E_IO, -rc) : 0;
}

/* Step 4: renames in commit order (pair id sibling, memory, state = the commit record). */
static int pair_commit(struct pair_files *pf, struct snap_error *e)
{
	struct snap_tmp *order[3] = {pf->use_pid ? &pf->pid : NULL, &pf->mem, &pf->state};
	for (int i = 0; i < 3; i++) {
		if (!order[i])
			continue;
		int rc = tmp_commit(order[i]);
		if (rc < 0)
			return snap_error_set(e, SNAP_E_ATOMIC_COMMIT_FAILED, -rc);
	}
	for (int i = 0; i < 3; i++)
		if (order[i])
			tmp_finish(order[i]);
	return 0;
}

int snap_write_pair(const struct snap_create_req *r, bool track_dirty_pages,
		    const struct sbuf *payload, const struct gmem *mem,
		    const uint64_t *dirty_or_null, struct snap_error *e)
{
	uint8_t id[SNAP_PAIR_ID_LEN];
	struct pair_files pf;
	struct sbuf st;
	int rc = pair_validate(r, track_dirty_pages, dirty_or_null, e);
	if (rc < 0)
		return rc;
	if ((rc = snap_pair_id_new(id)) < 0)
		return snap_error_set(e, SNAP_E_IO, -rc);
	sbuf_init(&st);
	if ((rc = pair_encode(payload, mem, r->type, id, &st, e)) < 0) {
		sbuf_free(&st);
		return rc;
	}
	memset(&pf, 0, sizeof(pf));
	pf.mem.fd = pf.pid.fd = pf.state.fd = -1;
	rc = pair_write_mem(&pf, r, mem, dirty_or_null, id, e);
	if (rc == 0)
		rc = pair_write_state(&pf, r->snapshot_path, &st, e);
	if (rc == 0)
		rc = pair_commit(&pf, e);
	sbuf_free(&st);
	if (rc < 0) {
		/* roll back in reverse commit order */
		tmp_abort(&pf.state);
		tmp_abort(&pf.mem);
		tmp_abort(&pf.pid);
		return rc;
	}
	int d1 = dir_fsync(r->mem_file_path), d2 = dir_fsync(r->snapshot_path);
	if (d1 < 0 || d2 < 0)
		return snap_error_set(e, SNAP_E_IO, d1 < 0 ? -d1 : -d2);
	return 0;
}

int snap_file_read_limited(const char *path, size_t limit, uint8_t **buf, size_t *len,
			   struct snap_error *e)
{
	size_t max = limit + 1, cap = max < 65536 ? max : 65536, n = 0;
	int err = 0;
	*buf = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return snap_error_set(e, SNAP_E_IO, errno);
	uint8_t *b = malloc(cap);
	while (b && !err) {
		if (n == cap) {
			if (cap == max)
				break;
			cap = cap > max / 2 ? max : cap * 2;
			uint8_t *nb = realloc(b, cap);
			if (!nb)
				break;
			b = nb;
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno != EINTR)
			err = errno;
		if (r == 0)
			break;
		if (r > 0)
			n += (size_t)r;
	}
	close(fd);
	if (!b || err || (n == cap && cap < max)) {
		free(b);
		return snap_error_set(e, SNAP_E_IO, err ? err : ENOMEM);
	}
	*buf = b;
	*len = n;
	return 0;
}

int snap_read_state(const char *path, uint8_t **payload, size_t *len, struct snap_error *e)
{
	uint8_t *buf;
	size_t n;
	struct snap_envelope env;
	*payload = NULL;
	*len = 0;
	int rc = snap_file_read_limited(path, SNAP_SIZE_LIMIT, &buf, &n, e);
	if (rc < 0)
		return rc;
	struct snap_state_view *v = malloc(sizeof(*v));
	if (!v) {
		free(buf);
		return snap_error_set(e, SNAP_E_IO, ENOMEM);
	}
	rc = snap_state_decode(buf, n, true, &env, v, e);
	free(v);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	size_t off = (size_t)(env.payload - buf);
	memmove(buf, buf + off, env.payload_len);
	*payload = buf;
	*len = env.payload_len;
	return 0;
}
