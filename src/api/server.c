/* SPDX-License-Identifier: Apache-2.0 */
/* server: libmicrohttpd on an AF_UNIX socket; API threads -> bounded queue -> VMM thread. */
#include "api/api_int.h"
#include "api/exec_int.h"

#include <dlfcn.h>
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* libmicrohttpd (and the TLS stack it pulls in) is loaded with dlopen once the listening socket
 * exists: the socket accepts connections from the first milliseconds of the process and the
 * ~20 libraries' relocations do not sit on the start-up path. */
static struct {
	struct MHD_Daemon *(*start_daemon)(unsigned int, uint16_t, MHD_AcceptPolicyCallback, void *,
					   MHD_AccessHandlerCallback, void *, ...);
	void (*stop_daemon)(struct MHD_Daemon *);
	struct MHD_Response *(*create_response_from_buffer)(size_t, void *,
							    enum MHD_ResponseMemoryMode);
	enum MHD_Result (*add_response_header)(struct MHD_Response *, const char *, const char *);
	enum MHD_Result (*queue_response)(struct MHD_Connection *, unsigned int,
					  struct MHD_Response *);
	void (*destroy_response)(struct MHD_Response *);
	const char *(*lookup_connection_value)(struct MHD_Connection *, enum MHD_ValueKind,
					       const char *);
} mhd;

static int mhd_load(void)
{
	static const char *const names[] = {"libmicrohttpd.so.12", "libmicrohttpd.so"};
	void *h = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(names) && !h; i++)
		h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		LOG_ERR("cannot load libmicrohttpd: %s", dlerror());
		return -ENOENT;
	}
	*(void **)&mhd.start_daemon = dlsym(h, "MHD_start_daemon");
	*(void **)&mhd.stop_daemon = dlsym(h, "MHD_stop_daemon");
	*(void **)&mhd.create_response_from_buffer = dlsym(h, "MHD_create_response_from_buffer");
	*(void **)&mhd.add_response_header = dlsym(h, "MHD_add_response_header");
	*(void **)&mhd.queue_response = dlsym(h, "MHD_queue_response");
	*(void **)&mhd.destroy_response = dlsym(h, "MHD_destroy_response");
	*(void **)&mhd.lookup_connection_value = dlsym(h, "MHD_lookup_connection_value");
	if (!mhd.start_daemon || !mhd.stop_daemon || !mhd.create_response_from_buffer ||
	    !mhd.add_response_header || !mhd.queue_response || !mhd.destroy_response ||
	    !mhd.lookup_connection_value) {
		LOG_ERR("libmicrohttpd lacks a needed symbol");
		return -ENOENT;
	}
	return 0;
}

#define QUEUE_MAX 64

struct api_req {
	struct api_action act;
	struct api_response resp;
	bool done, abandoned;
	pthread_cond_t cv;
	struct api_req *next;
};

struct api_server {
	struct api_vm *vm;
	struct MHD_Daemon *d;
	int lfd, efd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	size_t max_payload;
	pthread_mutex_t lock; /* queue and request completion */
	struct api_req *head, *tail;
	unsigned qlen;
	bool gone;		  /* the VMM loop stopped: answer 500 instead of queueing */
	unsigned inflight;	  /* requests begun and not yet fully answered (atomic) */
	pthread_mutex_t pub_lock; /* published read-only copy */
	struct api_response pub[API_N_PUBLISHED];
	struct api_action *pub_act; /* reused by publish: an action is ~80 KiB (paths) */
};

struct conn {
	char *buf;
	size_t len, cap, declared;
	bool too_large;
};

/* ---- VMM thread side ---- */

void api_server_publish(struct api_server *s)
{
	struct api_response fresh[API_N_PUBLISHED];
	memset(fresh, 0, sizeof(fresh));
	for (int k = 0; k < API_N_PUBLISHED; k++) {
		/* GET handlers read only the kind: no need to clear the whole union each time */
		struct api_action *a = s->pub_act;
		a->kind = (enum api_kind)k;
		a->deprecated = false;
		a->json = NULL;
		fresh[k].status = 200;
		exec_runtime(s->vm, a, &fresh[k]);
	}
	pthread_mutex_lock(&s->pub_lock);
	for (int k = 0; k < API_N_PUBLISHED; k++) {
		api_response_free(&s->pub[k]);
		s->pub[k] = fresh[k];
	}
	pthread_mutex_unlock(&s->pub_lock);
}

static void test_delay(void)
{
	const char *d = getenv("SQUIB_TEST_ACTION_DELAY_MS"); /* test hook for the 504 path */
	if (d && atoi(d) > 0) {
		struct timespec ts = {atoi(d) / 1000, (long)(atoi(d) % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
}

static void on_queue(void *arg, uint32_t events)
{
	struct api_server *s = arg;
	uint64_t v;
	if (read(s->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		LOG_ERR("api: eventfd read: %s", strerror(errno));
	for (;;) {
		pthread_mutex_lock(&s->lock);
		struct api_req *q = s->head;
		if (q) {
			s->head = q->next;
			if (!s->head)
				s->tail = NULL;
			s->qlen--;
		}
		pthread_mutex_unlock(&s->lock);
		if (!q)
			break;
		test_delay();
		api_exec(s->vm, &q->act, &q->resp);
		api_action_clear(&q->act);
		api_server_publish(s);
		pthread_mutex_lock(&s->lock);
		if (q->abandoned) {
			LOG_ERR("api: %s finished after its deadline (status %d)",
				api_action_what(q->act.kind), q->resp.status);
			api_response_free(&q->resp);
			pthread_cond_destroy(&q->cv);
			free(q);
		} else {
			q->done = true;
			pthread_cond_signal(&q->cv);
		}
		pthread_mutex_unlock(&s->lock);
	}
}

/* ---- API thread side ---- */

/* Queue q (ownership passes: freed here, or by the VMM thread if the deadline passes) and
 * wait for its answer. */
static void submit(struct api_server *s, struct api_req *q, struct api_response *out)
{
	struct timespec dl;
	int ms = api_action_deadline_ms(q->act.kind);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cv, &ca);
	pthread_condattr_destroy(&ca);
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	if (s->qlen >= QUEUE_MAX || s->gone) {
		bool gone = s->gone;
		pthread_mutex_unlock(&s->lock);
		pthread_cond_destroy(&q->cv);
		api_action_clear(&q->act);
		free(q);
		if (gone)
			api_fail(out, 500, MSG_VMM_GONE);
		else
			api_fail(out, 503, MSG_QUEUE_FULL);
		return;
	}
	if (s->tail)
		s->tail->next = q;
	else
		s->head = q;
	s->tail = q;
	s->qlen++;
	uint64_t one = 1;
	if (write(s->efd, &one, sizeof(one)) < 0)
		LOG_ERR("api: eventfd write: %s", strerror(errno));
	while (!q->done) {
		if (pthread_cond_timedwait(&q->cv, &s->lock, &dl) == ETIMEDOUT && !q->done) {
			q->abandoned = true; /* the VMM thread frees it */
			enum api_kind k = q->act.kind;
			pthread_mutex_unlock(&s->lock);
			api_fail(out, 504, MSG_ACTION_TIMEOUT, api_action_what(k));
			return;
		}
	}
	pthread_mutex_unlock(&s->lock);
	*out = q->resp;
	pthread_cond_destroy(&q->cv);
	free(q);
}

/* Handle one complete request (method, path, body) into out. */
static void handle(struct api_server *s, const char *method, const char *url, const char *body,
		   size_t len, struct api_response *out)
{
	enum api_method m = api_method_parse(method);
	memset(out, 0, sizeof(*out));
	if (m == API_M_OTHER) {
		api_fail(out, 400, MSG_BAD_ROUTE, method, url);
		return;
	}
	struct api_req *q = calloc(1, sizeof(*q));
	if (!q) {
		api_fail(out, 500, MSG_OUT_OF_MEMORY);
		return;
	}
	if (api_route(m, url, body, len, &q->act, out) < 0) {
		api_metrics_count(q->act.kind, true); /* no-op when no route matched */
		free(q);
		return;
	}
	if (q->act.kind < API_N_PUBLISHED) {
		pthread_mutex_lock(&s->pub_lock);
		const struct api_response *p = &s->pub[q->act.kind];
		out->status = p->status;
		out->body = p->body ? strdup(p->body) : NULL;
		pthread_mutex_unlock(&s->pub_lock);
		api_metrics_count(q->act.kind, out->status >= 300);
		api_action_clear(&q->act);
		free(q);
		return;
	}
	submit(s, q, out);
}

static enum MHD_Result reply(struct MHD_Connection *c, const struct api_response *r)
{
	size_t n = r->body ? strlen(r->body) : 0;
	struct MHD_Response *resp = mhd.create_response_from_buffer(
	    n, (void *)(r->body ? r->body : ""), MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	mhd.add_response_header(resp, "Server", "Firecracker API");
	if (n)
		mhd.add_response_header(resp, "Content-Type", "application/json");
	if (r->deprecated)
		mhd.add_response_header(resp, "Deprecation", "true");
	enum MHD_Result rc = mhd.queue_response(c, (unsigned)r->status, resp);
	mhd.destroy_response(resp);
	return rc;
}

static enum MHD_Result too_large(struct api_server *s, struct MHD_Connection *c, size_t size)
{
	struct api_response r = {0};
	api_fail(&r, 413, MSG_PAYLOAD_TOO_LARGE, size, s->max_payload);
	enum MHD_Result rc = reply(c, &r);
	api_response_free(&r);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_size, void **con_cls)
{
	struct api_server *s = cls;
	struct conn *st = *con_cls;
	if (!st) {
		st = calloc(1, sizeof(*st));
		if (!st)
			return MHD_NO;
		pthread_setname_np(pthread_self(), "fc_api");
		__atomic_add_fetch(&s->inflight, 1, __ATOMIC_RELAXED);
		*con_cls = st;
		const char *cl = mhd.lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > s->max_payload) {
			st->too_large = true;
			return too_large(s, c, (size_t)strtoull(cl, NULL, 10));
		}
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (st->too_large || st->len + n > s->max_payload) {
			st->too_large = true;
			st->declared = st->len + n;
			return MHD_YES;
		}
		if (st->len + n + 1 > st->cap) {
			size_t cap = st->len + n + 1;
			char *b = realloc(st->buf, cap);
			if (!b)
				return MHD_NO;
			st->buf = b;
			st->cap = cap;
		}
		memcpy(st->buf + st->len, upload_data, n);
		st->len += n;
		st->buf[st->len] = 0;
		return MHD_YES;
	}
	if (st->too_large)
		return too_large(s, c, st->declared);
	struct api_response r;
	LOG_INF("The API server received a %s request on \"%s\".", method, url);
	handle(s, method, url, st->buf ? st->buf : "", st->len, &r);
	if (r.status >= 400)
		LOG_ERR("Received Error. Status code: %d. Message: %s", r.status,
			r.body ? r.body : "");
	enum MHD_Result rc = reply(c, &r);
	api_response_free(&r);
	return rc;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct api_server *s = cls;
	struct conn *st = *con_cls;
	if (st) {
		free(st->buf);
		free(st);
		__atomic_sub_fetch(&s->inflight, 1, __ATOMIC_RELAXED);
	}
	*con_cls = NULL;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat sb;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
		unlink(path); /* stale socket from an earlier run */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || chmod(path, 0600) < 0 || listen(fd, 64) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

int api_server_start(const char *path, struct api_vm *vm, size_t max_payload,
		     struct api_server **out)
{
	struct api_server *s = calloc(1, sizeof(*s));
	int rc;
	if (!s)
		return -ENOMEM;
	s->vm = vm;
	s->pub_act = calloc(1, sizeof(*s->pub_act));
	if (!s->pub_act) {
		free(s);
		return -ENOMEM;
	}
	s->max_payload = max_payload ? max_payload : API_DEFAULT_MAX_PAYLOAD;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->pub_lock, NULL);
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->efd < 0) {
		rc = -errno;
		goto fail;
	}
	rc = evloop_add(vm->loop, s->efd, 0x001 /* EPOLLIN */, on_queue, s);
	if (rc < 0)
		goto fail_efd;
	api_server_publish(s);
	s->lfd = listen_unix(path);
	if (s->lfd < 0) {
		rc = s->lfd;
		goto fail_loop;
	}
	if (!mhd.start_daemon && mhd_load() < 0) {
		rc = -ENOENT;
		close(s->lfd);
		unlink(path);
		goto fail_loop;
	}
	s->d = mhd.start_daemon(
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL,
	    NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, s->lfd, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)120, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
	if (!s->d) {
		rc = -EIO;
		close(s->lfd);
		unlink(path);
		goto fail_loop;
	}
	*out = s;
	return 0;
fail_loop:
	evloop_del(vm->loop, s->efd);
fail_efd:
	close(s->efd);
fail:
	free(s->pub_act);
	free(s);
	return rc;
}

void api_server_stop(struct api_server *s)
{
	if (!s)
		return;
	/* The VMM loop has stopped: fail what is still queued so no API thread waits for it. */
	pthread_mutex_lock(&s->lock);
	s->gone = true;
	while (s->head) {
		struct api_req *q = s->head;
		s->head = q->next;
		api_action_clear(&q->act);
		if (q->abandoned) {
			pthread_cond_destroy(&q->cv);
			free(q);
			continue;
		}
		api_fail(&q->resp, 500, MSG_VMM_GONE);
		q->done = true;
		pthread_cond_signal(&q->cv);
	}
	s->tail = NULL;
	s->qlen = 0;
	pthread_mutex_unlock(&s->lock);
	/* Let answers already handed to MHD reach their clients (the SendCtrlAltDel that ended
	 * the guest, for one) before the connections are torn down; at most 1 s. */
	for (int i = 0; i < 100 && __atomic_load_n(&s->inflight, __ATOMIC_RELAXED); i++) {
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
	mhd.stop_daemon(s->d); /* joins the connection threads, closes the listening socket */
	unlink(s->path);
	evloop_del(s->vm->loop, s->efd);
	close(s->efd);
	for (int k = 0; k < API_N_PUBLISHED; k++)
		api_response_free(&s->pub[k]);
	free(s->pub_act);
	free(s);
}
