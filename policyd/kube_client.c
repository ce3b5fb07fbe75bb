/* The Kubernetes API over HTTPS with libcurl: single requests, and one
 * thread per watched collection that lists, watches, resumes and relists,
 * feeding a queue the daemon's loop drains through an eventfd. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cni/fsutil.h"
#include "policyd/json_strip.h"
#include "policyd/kube_client.h"

#define BODY_MAX		(64u << 20)	/* a list page, or one answer */
#define LINE_MAX_BYTES		(16u << 20)	/* one watch event */
#define ERR_BODY_MAX		(64u << 10)	/* a Status object */
#define TOKEN_MAX		(1u << 20)
#define POOL_MAX		4
#define CONNECT_TIMEOUT_MS	5000L
#define REQUEST_TIMEOUT_MS	10000
#define LIST_PAGE_TIMEOUT_MS	60000L
#define LIST_PAGE_SIZE		500	/* ~2 MB of pods as text */
#define LIST_PAGE_ENV		"BULKHEAD_KUBE_PAGE"	/* smaller, for tests */
#define WATCH_TIMEOUT_S		300
#define WATCH_SLACK_S		30	/* past the server's own timeout */
#define BACKOFF_MIN_MS		100
#define BACKOFF_MAX_MS		5000
#define RV_MAX			128
#define USER_AGENT		"bulkhead-policyd"

/* --- the client ------------------------------------------------------------ */

/* The configuration is copied; the token changes when token_file is
 * re-read after a 401. Idle handles are kept so requests reuse their
 * connections (and TLS sessions) instead of paying a handshake each. */
struct kube_client {
	struct kube_config cfg;
	pthread_mutex_t lock;	/* cfg.token and the pool */
	CURL *pool[POOL_MAX];
	int n_pool;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int nomem(struct dp_err *err)
{
	return dp_errorf(err, -ENOMEM, "out of memory");
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int dup_field(char **dst, const char *src)
{
	*dst = src ? strdup(src) : NULL;
	return src && !*dst ? -ENOMEM : 0;
}

static int copy_config(struct kube_config *dst, const struct kube_config *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->insecure = src->insecure;
	if (dup_field(&dst->server, src->server) ||
	    dup_field(&dst->ca_file, src->ca_file) ||
	    dup_field(&dst->ca_pem, src->ca_pem) ||
	    dup_field(&dst->cert_file, src->cert_file) ||
	    dup_field(&dst->cert_pem, src->cert_pem) ||
	    dup_field(&dst->key_file, src->key_file) ||
	    dup_field(&dst->key_pem, src->key_pem) ||
	    dup_field(&dst->token, src->token) ||
	    dup_field(&dst->token_file, src->token_file)) {
		kube_config_free(dst);
		return -ENOMEM;
	}
	return 0;
}

int kube_client_new(const struct kube_config *c, struct kube_client **out,
		    struct dp_err *err)
{
	struct kube_client *k;

	*out = NULL;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return dp_errorf(err, -EIO, "libcurl: %s",
				 curl_easy_strerror(curl_init_rc));
	if (!c->server || !*c->server)
		return dp_errorf(err, -EINVAL, "kube client: no server given");
	k = calloc(1, sizeof(*k));
	if (!k)
		return nomem(err);
	if (copy_config(&k->cfg, c) < 0) {
		free(k);
		return nomem(err);
	}
	pthread_mutex_init(&k->lock, NULL);
	*out = k;
	return 0;
}

void kube_client_free(struct kube_client *k)
{
	int i;

	if (!k)
		return;
	for (i = 0; i < k->n_pool; i++)
		curl_easy_cleanup(k->pool[i]);
	pthread_mutex_destroy(&k->lock);
	kube_config_free(&k->cfg);
	free(k);
}

static CURL *handle_get(struct kube_client *k)
{
	CURL *h = NULL;

	pthread_mutex_lock(&k->lock);
	if (k->n_pool)
		h = k->pool[--k->n_pool];
	pthread_mutex_unlock(&k->lock);
	return h ? h : curl_easy_init();
}

static void handle_put(struct kube_client *k, CURL *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&k->lock);
	if (k->n_pool < POOL_MAX) {
		k->pool[k->n_pool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&k->lock);
	if (h)
		curl_easy_cleanup(h);
}

/* Service account tokens rotate: a 401 may only mean ours expired. True
 * when a token was read (the caller then tries once more). */
static bool token_reload(struct kube_client *k)
{
	char *tok;
	size_t n;

	if (!k->cfg.token_file)
		return false;
	tok = read_file(k->cfg.token_file, TOKEN_MAX, NULL);
	if (!tok)
		return false;
	n = strlen(tok);
	while (n && strchr(" \t\r\n", tok[n - 1]))
		tok[--n] = '\0';
	if (!n || strpbrk(tok, "\r\n")) {
		free(tok);
		return false;
	}
	pthread_mutex_lock(&k->lock);
	free(k->cfg.token);
	k->cfg.token = tok;
	pthread_mutex_unlock(&k->lock);
	return true;
}

/* --- one transfer ----------------------------------------------------------- */

/* A growing buffer with a ceiling, for bodies and lines. */
struct buf {
	char *data;
	size_t len, cap, max;
	bool overflow;
};

static int buf_append(struct buf *b, const char *p, size_t n)
{
	if (n > b->max - b->len) {
		b->overflow = true;
		return -EFBIG;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *d;

		while (cap < b->len + n + 1)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

static void buf_reset(struct buf *b)
{
	b->len = 0;
	b->overflow = false;
}

static void buf_free(struct buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static size_t buf_write(char *p, size_t size, size_t n, void *ctx)
{
	return buf_append(ctx, p, size * n) < 0 ? 0 : size * n;
}

static void buf_sink_reset(void *ctx)
{
	buf_reset(ctx);
}

/* What one HTTP exchange needs; the sink gets the body. */
struct xfer {
	const char *method;
	const char *url;
	const char *body;		/* NULL: none */
	const char *content_type;	/* of body */
	long timeout_ms;
	bool compress;			/* not for watches: they trickle */
	curl_write_callback write;
	void *write_ctx;
	void (*reset)(void *ctx);	/* before a retry */
	curl_write_callback header;	/* NULL: none */
	void *header_ctx;
	atomic_bool *stop;		/* NULL: not stoppable */
	curl_opensocket_callback open_sock;	/* NULL: curl's own */
	curl_closesocket_callback close_sock;
	void *sock_ctx;
	long status;
	char errbuf[CURL_ERROR_SIZE];
};

static int xfer_progress(void *ctx, curl_off_t dt, curl_off_t dn,
			 curl_off_t ut, curl_off_t un)
{
	(void)dt; (void)dn; (void)ut; (void)un;
	return atomic_load((atomic_bool *)ctx) ? 1 : 0;
}

static int curl_errno(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		return -EPROTO;
	case CURLE_ABORTED_BY_CALLBACK:
		return -ECANCELED;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/* Headers of every request: JSON, and who we are. */
static struct curl_slist *xfer_headers(struct kube_client *k,
				       const struct xfer *x)
{
	struct curl_slist *l = NULL, *t;
	char *line = NULL;
	bool ok = true;

	l = curl_slist_append(NULL, "Accept: application/json");
	if (!l)
		return NULL;
	if (x->content_type) {
		char ct[128];

		snprintf(ct, sizeof(ct), "Content-Type: %s", x->content_type);
		/* No 100-continue round trip before a large body. */
		ok = (t = curl_slist_append(l, ct)) && (l = t) &&
		     (t = curl_slist_append(l, "Expect:")) && (l = t);
	}
	pthread_mutex_lock(&k->lock);
	if (ok && k->cfg.token &&
	    asprintf(&line, "Authorization: Bearer %s", k->cfg.token) < 0) {
		line = NULL;
		ok = false;
	}
	pthread_mutex_unlock(&k->lock);
	if (ok && line)
		ok = (t = curl_slist_append(l, line)) && (l = t);
	free(line);
	if (!ok) {
		curl_slist_free_all(l);
		return NULL;
	}
	return l;
}

#define SETOPT(h, opt, val) do {					\
		CURLcode _cc = curl_easy_setopt((h), (opt), (val));	\
		if (_cc != CURLE_OK)					\
			return _cc;					\
	} while (0)

/* The server's certificate authority and our client certificate, from
 * files or from the PEM the kubeconfig carried inline. */
static CURLcode setup_tls(struct kube_client *k, CURL *h)
{
	const struct kube_config *c = &k->cfg;
	struct curl_blob blob = { .flags = CURL_BLOB_COPY };

	if (c->ca_pem) {
		blob.data = c->ca_pem;
		blob.len = strlen(c->ca_pem);
		SETOPT(h, CURLOPT_CAINFO_BLOB, &blob);
	} else if (c->ca_file) {
		SETOPT(h, CURLOPT_CAINFO, c->ca_file);
	}
	if (c->cert_pem) {
		blob.data = c->cert_pem;
		blob.len = strlen(c->cert_pem);
		SETOPT(h, CURLOPT_SSLCERT_BLOB, &blob);
	} else if (c->cert_file) {
		SETOPT(h, CURLOPT_SSLCERT, c->cert_file);
	}
	if (c->cert_pem || c->cert_file)
		SETOPT(h, CURLOPT_SSLCERTTYPE, "PEM");
	if (c->key_pem) {
		blob.data = c->key_pem;
		blob.len = strlen(c->key_pem);
		SETOPT(h, CURLOPT_SSLKEY_BLOB, &blob);
	} else if (c->key_file) {
		SETOPT(h, CURLOPT_SSLKEY, c->key_file);
	}
	if (c->key_pem || c->key_file)
		SETOPT(h, CURLOPT_SSLKEYTYPE, "PEM");
	if (c->insecure) {
		SETOPT(h, CURLOPT_SSL_VERIFYPEER, 0L);
		SETOPT(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	return CURLE_OK;
}

static CURLcode setup_method(CURL *h, const struct xfer *x)
{
	if (!strcmp(x->method, "GET"))
		SETOPT(h, CURLOPT_HTTPGET, 1L);
	else if (strcmp(x->method, "POST"))
		SETOPT(h, CURLOPT_CUSTOMREQUEST, x->method);
	if (x->body || !strcmp(x->method, "POST")) {
		const char *body = x->body ? x->body : "";

		SETOPT(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
		SETOPT(h, CURLOPT_POSTFIELDS, body);
	}
	return CURLE_OK;
}

static CURLcode setup_xfer(struct kube_client *k, CURL *h, struct xfer *x,
			   struct curl_slist *headers)
{
	CURLcode cc;

	SETOPT(h, CURLOPT_URL, x->url);
	SETOPT(h, CURLOPT_NOSIGNAL, 1L);	/* threads */
	SETOPT(h, CURLOPT_USERAGENT, USER_AGENT);
	SETOPT(h, CURLOPT_HTTPHEADER, headers);
	SETOPT(h, CURLOPT_ERRORBUFFER, x->errbuf);
	SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	SETOPT(h, CURLOPT_TIMEOUT_MS, x->timeout_ms);
	SETOPT(h, CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(h, CURLOPT_TCP_KEEPIDLE, 30L);
	SETOPT(h, CURLOPT_TCP_KEEPINTVL, 10L);
	SETOPT(h, CURLOPT_WRITEFUNCTION, x->write);
	SETOPT(h, CURLOPT_WRITEDATA, x->write_ctx);
	if (x->compress)
		SETOPT(h, CURLOPT_ACCEPT_ENCODING, "");
	if (x->header) {
		SETOPT(h, CURLOPT_HEADERFUNCTION, x->header);
		SETOPT(h, CURLOPT_HEADERDATA, x->header_ctx);
	}
	if (x->open_sock) {
		SETOPT(h, CURLOPT_OPENSOCKETFUNCTION, x->open_sock);
		SETOPT(h, CURLOPT_OPENSOCKETDATA, x->sock_ctx);
		SETOPT(h, CURLOPT_CLOSESOCKETFUNCTION, x->close_sock);
		SETOPT(h, CURLOPT_CLOSESOCKETDATA, x->sock_ctx);
	}
	if (x->stop) {
		SETOPT(h, CURLOPT_NOPROGRESS, 0L);
		SETOPT(h, CURLOPT_XFERINFOFUNCTION, xfer_progress);
		SETOPT(h, CURLOPT_XFERINFODATA, x->stop);
	}
	if ((cc = setup_method(h, x)) != CURLE_OK)
		return cc;
	return setup_tls(k, h);
}

/* One exchange on h: 0 with x->status once an answer came, or a negative
 * errno with err saying why none did. */
static int xfer_once(struct kube_client *k, CURL *h, struct xfer *x,
		     struct dp_err *err)
{
	struct curl_slist *headers;
	CURLcode cc;
	int rc = 0;

	curl_easy_reset(h);
	x->status = 0;
	x->errbuf[0] = '\0';
	headers = xfer_headers(k, x);
	if (!headers)
		return nomem(err);
	cc = setup_xfer(k, h, x, headers);
	if (cc != CURLE_OK) {
		rc = dp_errorf(err, -EINVAL, "%s %s: %s", x->method, x->url,
			       curl_easy_strerror(cc));
		goto out;
	}
	cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		rc = dp_errorf(err, curl_errno(cc), "%s %s: %s", x->method,
			       x->url, x->errbuf[0] ? x->errbuf :
			       curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &x->status);
out:
	curl_slist_free_all(headers);
	return rc;
}

/* An exchange, once more after a 401 if the token file gave a token. */
static int xfer_run(struct kube_client *k, CURL *h, struct xfer *x,
		    struct dp_err *err)
{
	int rc = xfer_once(k, h, x, err);

	if (rc < 0 || x->status != 401 || !token_reload(k))
		return rc;
	if (x->reset)
		x->reset(x->write_ctx);
	return xfer_once(k, h, x, err);
}

/* --- single requests ---------------------------------------------------- */

static bool method_known(const char *m)
{
	static const char *const known[] = {
		"GET", "POST", "PUT", "PATCH", "DELETE",
	};
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(m, known[i]))
			return true;
	return false;
}

int kube_request(struct kube_client *k, const char *method, const char *path,
		 const json_t *body, json_t **resp, int timeout_ms,
		 struct dp_err *err)
{
	struct buf b = { .max = BODY_MAX };
	struct xfer x = {
		.method = method,
		.timeout_ms = timeout_ms > 0 ? timeout_ms : REQUEST_TIMEOUT_MS,
		.compress = true,
		.write = buf_write,
		.write_ctx = &b,
		.reset = buf_sink_reset,
	};
	char *url = NULL, *text = NULL;
	CURL *h = NULL;
	int rc;

	*resp = NULL;
	if (!method_known(method))
		return dp_errorf(err, -EINVAL, "kube request: unknown method %s",
				 method);
	if (path[0] != '/')
		return dp_errorf(err, -EINVAL, "kube request: path \"%s\" does "
				 "not start with /", path);
	if (asprintf(&url, "%s%s", k->cfg.server, path) < 0) {
		url = NULL;
		rc = nomem(err);
		goto out;
	}
	x.url = url;
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		if (!text) {
			rc = nomem(err);
			goto out;
		}
		x.body = text;
		x.content_type = strcmp(method, "PATCH") ?
			"application/json" : "application/merge-patch+json";
	}
	h = handle_get(k);
	if (!h) {
		rc = nomem(err);
		goto out;
	}
	rc = xfer_run(k, h, &x, err);
	if (rc < 0 && b.overflow && err) {
		err->code = 0;	/* the real reason, not curl's write error */
		rc = dp_errorf(err, -EFBIG, "%s %s: response larger than %u MiB",
			       method, url, BODY_MAX >> 20);
	}
	if (rc < 0)
		goto out;
	*resp = b.len ? json_loadb(b.data, b.len, 0, NULL) : NULL;
	rc = (int)x.status;
out:
	handle_put(k, h);
	buf_free(&b);
	free(text);
	free(url);
	return rc;
}

/* --- the queue ------------------------------------------------------------ */

/* A singly linked list appended by watch threads and taken whole by the
 * loop; the eventfd is readable while the list may be non-empty. */
struct kube_queue {
	pthread_mutex_t lock;
	struct kube_event *head, *tail;
	int efd;
};

int kube_queue_new(struct kube_queue **out, struct dp_err *err)
{
	struct kube_queue *q = calloc(1, sizeof(*q));

	*out = NULL;
	if (!q)
		return nomem(err);
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->efd < 0) {
		int rc = dp_errorf(err, -errno, "eventfd: %s", strerror(errno));

		free(q);
		return rc;
	}
	pthread_mutex_init(&q->lock, NULL);
	*out = q;
	return 0;
}

int kube_queue_fd(const struct kube_queue *q)
{
	return q->efd;
}

/* Appends the chain head..tail (already linked). */
static void queue_push(struct kube_queue *q, struct kube_event *head,
		       struct kube_event *tail)
{
	uint64_t one = 1;

	if (!head)
		return;
	tail->next = NULL;
	pthread_mutex_lock(&q->lock);
	if (q->tail)
		q->tail->next = head;
	else
		q->head = head;
	q->tail = tail;
	pthread_mutex_unlock(&q->lock);
	/* Only fails when the counter is saturated: readable anyway. */
	if (write(q->efd, &one, sizeof(one)) < 0)
		return;
}

struct kube_event *kube_queue_take(struct kube_queue *q)
{
	struct kube_event *head;
	uint64_t n;

	/* Cleared before taking: a push that lands after the take writes the
	 * eventfd again, so no wake-up is lost. */
	if (read(q->efd, &n, sizeof(n)) < 0)
		n = 0;
	pthread_mutex_lock(&q->lock);
	head = q->head;
	q->head = q->tail = NULL;
	pthread_mutex_unlock(&q->lock);
	return head;
}

void kube_event_free(struct kube_event *ev)
{
	while (ev) {
		struct kube_event *next = ev->next;

		json_decref(ev->obj);
		free(ev);
		ev = next;
	}
}

void kube_queue_free(struct kube_queue *q)
{
	if (!q)
		return;
	kube_event_free(q->head);
	close(q->efd);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

/* A chain being built before it is pushed in one piece. */
struct chain {
	struct kube_event *head, *tail;
};

/* Takes obj's reference. */
static int chain_add(struct chain *c, enum kube_ev_type type, int resource,
		     json_t *obj, uint64_t rx_ns)
{
	struct kube_event *ev = calloc(1, sizeof(*ev));

	if (!ev) {
		json_decref(obj);
		return -ENOMEM;
	}
	ev->type = type;
	ev->resource = resource;
	ev->obj = obj;
	ev->rx_ns = rx_ns;
	if (c->tail)
		c->tail->next = ev;
	else
		c->head = ev;
	c->tail = ev;
	return 0;
}

static void chain_push(struct chain *c, struct kube_queue *q)
{
	queue_push(q, c->head, c->tail);
	c->head = c->tail = NULL;
}

static void chain_drop(struct chain *c)
{
	kube_event_free(c->head);
	c->head = c->tail = NULL;
}

/* --- watches ---------------------------------------------------------------- */

/* How one list or watch attempt ended, which decides the next. */
enum step {
	STEP_LISTED,	/* a full list was delivered: watch from its RV */
	STEP_REWATCH,	/* the server ended the stream in time: go on */
	STEP_RELIST,	/* 410 Gone, or a stream we cannot resume */
	STEP_FAILED,	/* no answer, an error, a dropped stream: back off */
	STEP_STOPPED,
};

struct kube_watch {
	struct kube_client *k;
	struct kube_queue *q;
	char *path;
	int resource, timeout_s, page_size;
	kube_trim_fn trim;	/* NULL: objects are queued whole */
	pthread_t thread;
	atomic_bool stop;

	pthread_mutex_t lock;	/* what other threads read, and the sleep */
	pthread_cond_t wake;
	int sock;		/* the connection, shut down to stop at once */
	char rv[RV_MAX];
	bool connected;
	bool relist_asked;	/* by kube_watch_relist, not yet begun */
	struct kube_watch_stats stats;

	/* The watch thread's own. */
	CURL *h;
	bool outage;		/* DOWN pushed, not yet back */
	int backoff_ms;
	bool listed_once;
	struct dp_err err;	/* why the last attempt failed */
	/* The stream being read. */
	long status;
	struct buf line;
	struct buf err_body;
	struct chain pending;	/* events of one write callback */
	enum step verdict;	/* set by a line that ends the stream early */
	uint64_t lines;
};

static bool stopping(struct kube_watch *w)
{
	return atomic_load(&w->stop);
}

/* Whether kube_watch_relist asked for a list; take also clears the ask,
 * as the list that answers it begins. */
static bool relist_asked(struct kube_watch *w, bool take)
{
	bool asked;

	pthread_mutex_lock(&w->lock);
	asked = w->relist_asked;
	if (take)
		w->relist_asked = false;
	pthread_mutex_unlock(&w->lock);
	return asked;
}

static void set_rv(struct kube_watch *w, const char *rv)
{
	pthread_mutex_lock(&w->lock);
	snprintf(w->rv, sizeof(w->rv), "%s", rv);
	pthread_mutex_unlock(&w->lock);
}

static void set_connected(struct kube_watch *w, bool up)
{
	pthread_mutex_lock(&w->lock);
	w->connected = up;
	pthread_mutex_unlock(&w->lock);
}

/* The resourceVersion in obj's metadata, if it is one we can keep. */
static const char *object_rv(json_t *obj)
{
	const char *rv = json_string_value(
		json_object_get(json_object_get(obj, "metadata"),
				"resourceVersion"));

	return rv && *rv && strlen(rv) < RV_MAX ? rv : NULL;
}

/* path?ARGS or path&ARGS when path already carries a query. */
static char *watch_url(struct kube_watch *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static char *watch_url(struct kube_watch *w, const char *fmt, ...)
{
	char *args, *url;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&args, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	if (asprintf(&url, "%s%s%c%s", w->k->cfg.server, w->path,
		     strchr(w->path, '?') ? '&' : '?', args) < 0)
		url = NULL;
	free(args);
	return url;
}

/* The watch's connections are opened and closed here so that a stop or
 * a relist can shut the socket down (watch_cut). */
static curl_socket_t watch_open_sock(void *ctx, curlsocktype purpose,
				     struct curl_sockaddr *a)
{
	struct kube_watch *w = ctx;
	int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);

	(void)purpose;
	if (fd < 0)
		return CURL_SOCKET_BAD;
	pthread_mutex_lock(&w->lock);
	w->sock = fd;
	pthread_mutex_unlock(&w->lock);
	return fd;
}

static int watch_close_sock(void *ctx, curl_socket_t fd)
{
	struct kube_watch *w = ctx;

	pthread_mutex_lock(&w->lock);
	if (w->sock == fd)
		w->sock = -1;
	pthread_mutex_unlock(&w->lock);
	return close(fd);
}

/* Sleeps ms or until stopped. */
static void watch_sleep(struct kube_watch *w, int ms)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&w->lock);
	while (!stopping(w) &&
	       pthread_cond_timedwait(&w->wake, &w->lock, &until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&w->lock);
}

/* The message of a Status body, for errors. */
static void status_error(struct kube_watch *w, const char *what, long status,
			 const struct buf *body)
{
	json_t *j = body->len ? json_loadb(body->data, body->len, 0, NULL) : NULL;
	const char *msg = json_string_value(json_object_get(j, "message"));

	dp_errorf(&w->err, -EPROTO, "%s %s: HTTP %ld%s%s", what, w->path,
		  status, msg ? ": " : "", msg ? msg : "");
	json_decref(j);
}

/* Takes obj's reference: trimmed to what the daemon keeps, then added to
 * c. */
static int watch_add(struct kube_watch *w, struct chain *c,
		     enum kube_ev_type type, json_t *obj, uint64_t rx)
{
	if (w->trim && json_is_object(obj))
		w->trim(w->resource, obj);
	return chain_add(c, type, w->resource, obj, rx);
}

/* One page of a list into c; *next is the next page's token (NULL when
 * this was the last). The body and its tree are freed before returning,
 * so a list never holds more than one page's worth of text and tree. */
static enum step list_page(struct kube_watch *w, const char *cont,
			   struct chain *c, char **next, char *rv, size_t rvlen)
{
	struct buf b = { .max = BODY_MAX };
	struct xfer x = {
		.method = "GET",
		.timeout_ms = LIST_PAGE_TIMEOUT_MS,
		.compress = true,
		.write = buf_write,
		.write_ctx = &b,
		.reset = buf_sink_reset,
		.stop = &w->stop,
		.open_sock = watch_open_sock,
		.close_sock = watch_close_sock,
		.sock_ctx = w,
	};
	char *esc = cont ? curl_easy_escape(w->h, cont, 0) : NULL;
	json_t *list = NULL, *items, *item;
	enum step s = STEP_FAILED;
	const char *list_rv, *more;
	uint64_t rx;
	size_t i;
	char *url;

	*next = NULL;
	url = cont ? watch_url(w, "limit=%d&continue=%s", w->page_size,
			       esc ? esc : "")
		   : watch_url(w, "limit=%d", w->page_size);
	if (!url || (cont && !esc)) {
		nomem(&w->err);
		goto out;
	}
	x.url = url;
	if (xfer_run(w->k, w->h, &x, &w->err) < 0) {
		if (b.overflow) {
			w->err.code = 0;
			dp_errorf(&w->err, -EFBIG, "list %s: a page is larger "
				  "than %u MiB", w->path, BODY_MAX >> 20);
		}
		s = stopping(w) ? STEP_STOPPED : STEP_FAILED;
		goto out;
	}
	rx = now_ns();
	if (x.status == 410 && cont) {	/* the continue token expired */
		s = STEP_RELIST;
		goto out;
	}
	if (x.status != 200) {
		status_error(w, "list", x.status, &b);
		goto out;
	}
	/* Half a pod's bytes, and most of its JSON objects, are managedFields,
	 * which nobody here reads: cut before parsing, not after. */
	if (b.data)
		b.len = json_strip_members(b.data, b.len, "managedFields");
	list = json_loadb(b.data ? b.data : "", b.len, 0, NULL);
	buf_free(&b);	/* the tree holds it all now */
	items = json_object_get(list, "items");
	list_rv = object_rv(list);
	if (!list_rv || !(json_is_array(items) || json_is_null(items))) {
		dp_errorf(&w->err, -EPROTO, "list %s: not a list with a "
			  "resourceVersion", w->path);
		goto out;
	}
	/* Each item outlives the page's tree by its own reference. */
	json_array_foreach(items, i, item)
		if (watch_add(w, c, KUBE_EV_ADDED, json_incref(item), rx) < 0) {
			nomem(&w->err);
			goto out;
		}
	snprintf(rv, rvlen, "%s", list_rv);
	more = json_string_value(json_object_get(
		json_object_get(list, "metadata"), "continue"));
	if (more && *more && !(*next = strdup(more))) {
		nomem(&w->err);
		goto out;
	}
	s = STEP_LISTED;
out:
	json_decref(list);
	curl_free(esc);
	free(url);
	buf_free(&b);
	return s;
}

/* Lists the whole collection page by page, delivering each page as it
 * is read: SYNC_BEGIN with the first, SYNC_END after the last. A list cut
 * short delivers no SYNC_END, which the daemon takes as nothing swept. */
static enum step watch_list(struct kube_watch *w)
{
	struct chain c = { 0 };
	char rv[RV_MAX] = "", *cont = NULL, *next;
	enum step s;

	if (chain_add(&c, KUBE_EV_SYNC_BEGIN, w->resource, NULL, now_ns()) < 0) {
		nomem(&w->err);
		return STEP_FAILED;
	}
	do {
		s = list_page(w, cont, &c, &next, rv, sizeof(rv));
		free(cont);
		cont = next;
		if (s != STEP_LISTED)
			break;
		chain_push(&c, w->q);
		if (cont && relist_asked(w, false))
			s = STEP_RELIST;	/* this list is stale already */
	} while (s == STEP_LISTED && cont);
	free(cont);
	chain_drop(&c);		/* what a failed page had added */
	if (s != STEP_LISTED)
		return s;
	if (chain_add(&c, KUBE_EV_SYNC_END, w->resource, NULL, now_ns()) < 0) {
		nomem(&w->err);
		return STEP_FAILED;
	}
	set_rv(w, rv);
	pthread_mutex_lock(&w->lock);
	if (w->listed_once)
		w->stats.relists++;
	pthread_mutex_unlock(&w->lock);
	w->listed_once = true;
	chain_push(&c, w->q);
#ifdef __GLIBC__
	/* The pages' text and trees were freed, but glibc keeps the pages
	 * mapped unless asked: hand them back so RSS falls after a list. */
	malloc_trim(0);
#endif
	return STEP_LISTED;
}

static int event_type(const char *t, enum kube_ev_type *out)
{
	static const struct { const char *name; enum kube_ev_type type; } map[] = {
		{ "ADDED", KUBE_EV_ADDED },
		{ "MODIFIED", KUBE_EV_MODIFIED },
		{ "DELETED", KUBE_EV_DELETED },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(t, map[i].name)) {
			*out = map[i].type;
			return 0;
		}
	return -1;
}

/* One line of the stream: {"type": ..., "object": ...}. A line that ends
 * the stream sets w->verdict and returns -1. */
static int watch_line(struct kube_watch *w, const char *line, size_t len,
		      uint64_t rx)
{
	json_t *j, *obj;
	const char *type, *rv;
	enum kube_ev_type ev;
	int rc = -1;

	while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (!len)
		return 0;
	j = json_loadb(line, len, 0, NULL);
	type = json_string_value(json_object_get(j, "type"));
	obj = json_object_get(j, "object");
	if (!type || !json_is_object(obj)) {
		dp_errorf(&w->err, -EPROTO, "watch %s: a line that is not an "
			  "event", w->path);
		w->verdict = STEP_FAILED;
		goto out;
	}
	if (!strcmp(type, "ERROR")) {
		json_int_t code = json_integer_value(json_object_get(obj, "code"));
		const char *msg = json_string_value(json_object_get(obj, "message"));

		w->verdict = code == 410 ? STEP_RELIST : STEP_FAILED;
		dp_errorf(&w->err, -EPROTO, "watch %s: error event %lld: %s",
			  w->path, (long long)code, msg ? msg : "");
		goto out;
	}
	rv = object_rv(obj);
	if (rv)
		set_rv(w, rv);
	pthread_mutex_lock(&w->lock);
	w->stats.last_event_ns = rx;
	if (!strcmp(type, "BOOKMARK"))
		w->stats.bookmarks++;
	pthread_mutex_unlock(&w->lock);
	if (!strcmp(type, "BOOKMARK")) {
		rc = 0;
		goto out;
	}
	if (event_type(type, &ev) < 0) {
		dp_errorf(&w->err, -EPROTO, "watch %s: unknown event type %s",
			  w->path, type);
		w->verdict = STEP_FAILED;
		goto out;
	}
	if (watch_add(w, &w->pending, ev, json_incref(obj), rx) < 0) {
		nomem(&w->err);
		w->verdict = STEP_FAILED;
		goto out;
	}
	pthread_mutex_lock(&w->lock);
	w->stats.events++;
	pthread_mutex_unlock(&w->lock);
	rc = 0;
out:
	json_decref(j);
	return rc;
}

/* A line we could not hold: the stream cannot be followed past it, so
 * start over from a list. */
static void watch_line_lost(struct kube_watch *w)
{
	if (w->line.overflow) {
		dp_errorf(&w->err, -EFBIG, "watch %s: an event longer than "
			  "%u MiB", w->path, LINE_MAX_BYTES >> 20);
		w->verdict = STEP_RELIST;
		return;
	}
	nomem(&w->err);
	w->verdict = STEP_FAILED;
}

/* Splits what arrives into lines; a failed status's body is kept for the
 * error message instead. */
static size_t watch_write(char *p, size_t size, size_t n, void *ctx)
{
	struct kube_watch *w = ctx;
	size_t total = size * n, used = 0;
	uint64_t rx = now_ns();

	if (w->status != 200) {
		buf_append(&w->err_body, p, total);	/* a truncated one will do */
		return total;
	}
	while (used < total) {
		const char *nl = memchr(p + used, '\n', total - used);
		size_t take = nl ? (size_t)(nl - (p + used)) : total - used;

		if (buf_append(&w->line, p + used, take) < 0) {
			watch_line_lost(w);
			break;
		}
		used += take;
		if (!nl)
			break;
		used++;
		w->lines++;
		if (watch_line(w, w->line.data, w->line.len, rx) < 0)
			break;
		buf_reset(&w->line);
	}
	chain_push(&w->pending, w->q);
	return w->verdict == STEP_REWATCH ? total : 0;
}

/* The end of the headers says whether the watch took. */
static size_t watch_header(char *p, size_t size, size_t n, void *ctx)
{
	struct kube_watch *w = ctx;
	size_t total = size * n;

	if (total > 2 || (total && p[0] != '\r' && p[0] != '\n'))
		return total;
	curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &w->status);
	if (w->status == 200) {
		set_connected(w, true);
		w->outage = false;
		w->backoff_ms = BACKOFF_MIN_MS;
	}
	return total;
}

static void watch_stream_reset(void *ctx)
{
	struct kube_watch *w = ctx;

	w->status = 0;
	buf_reset(&w->line);
	buf_reset(&w->err_body);
}

/* Watches from the last resourceVersion until the server ends the stream
 * or something goes wrong. */
static enum step watch_stream(struct kube_watch *w)
{
	struct xfer x = {
		.method = "GET",
		.timeout_ms = (long)(w->timeout_s + WATCH_SLACK_S) * 1000,
		.write = watch_write,
		.write_ctx = w,
		.reset = watch_stream_reset,
		.header = watch_header,
		.header_ctx = w,
		.stop = &w->stop,
		.open_sock = watch_open_sock,
		.close_sock = watch_close_sock,
		.sock_ctx = w,
	};
	char rv[RV_MAX], *esc = NULL, *url = NULL;
	uint64_t t0 = now_ns();
	enum step s = STEP_FAILED;
	int rc;

	kube_watch_rv(w, rv, sizeof(rv));
	if (!*rv)
		return STEP_RELIST;
	esc = curl_easy_escape(w->h, rv, 0);
	url = esc ? watch_url(w, "watch=1&allowWatchBookmarks=true&"
			      "resourceVersion=%s&timeoutSeconds=%d", esc,
			      w->timeout_s) : NULL;
	if (!url) {
		nomem(&w->err);
		goto out;
	}
	x.url = url;
	watch_stream_reset(w);
	w->verdict = STEP_REWATCH;
	w->lines = 0;
	rc = xfer_run(w->k, w->h, &x, &w->err);
	/* A last line without its newline still counts. */
	if (rc == 0 && x.status == 200 && w->verdict == STEP_REWATCH &&
	    w->line.len) {
		w->lines++;
		watch_line(w, w->line.data, w->line.len, now_ns());
		chain_push(&w->pending, w->q);
	}
	if (stopping(w)) {
		s = STEP_STOPPED;
	} else if (w->verdict != STEP_REWATCH) {
		s = w->verdict;
	} else if (rc < 0) {
		s = STEP_FAILED;
	} else if (x.status == 410) {
		s = STEP_RELIST;
	} else if (x.status != 200) {
		status_error(w, "watch", x.status, &w->err_body);
	} else if (!w->lines && now_ns() - t0 < 500000000u) {
		/* Ended at once with nothing said: not a timeout but a
		 * server going away; do not spin on it. */
		dp_errorf(&w->err, -EPIPE, "watch %s: the server closed the "
			  "stream at once", w->path);
	} else {
		s = STEP_REWATCH;
	}
out:
	curl_free(esc);
	free(url);
	return s;
}

/* A failure: DOWN once per outage, then the backoff before trying again. */
static void watch_failed(struct kube_watch *w)
{
	struct chain c = { 0 };

	set_connected(w, false);
	pthread_mutex_lock(&w->lock);
	w->stats.reconnects++;
	pthread_mutex_unlock(&w->lock);
	if (!w->outage) {
		w->outage = true;
		fprintf(stderr, "kube watch %s: down: %s\n", w->path,
			w->err.code ? w->err.msg : "unknown error");
		if (chain_add(&c, KUBE_EV_DOWN, w->resource, NULL, now_ns()) == 0)
			chain_push(&c, w->q);
	}
	watch_sleep(w, w->backoff_ms);
	w->backoff_ms = w->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
			w->backoff_ms * 2;
}

static void *watch_main(void *arg)
{
	struct kube_watch *w = arg;
	bool need_list = true;

	while (!stopping(w)) {
		enum step s;

		if (relist_asked(w, true))
			need_list = true;
		memset(&w->err, 0, sizeof(w->err));
		s = need_list ? watch_list(w) : watch_stream(w);
		if (s == STEP_FAILED && relist_asked(w, false))
			s = STEP_RELIST;	/* cut short on purpose */
		switch (s) {
		case STEP_LISTED:
			need_list = false;
			w->outage = false;
			w->backoff_ms = BACKOFF_MIN_MS;
			break;
		case STEP_REWATCH:
			break;
		case STEP_RELIST:
			need_list = true;
			break;
		case STEP_FAILED:
			watch_failed(w);
			break;
		case STEP_STOPPED:
			break;
		}
	}
	set_connected(w, false);
	return NULL;
}

static void watch_free(struct kube_watch *w)
{
	if (!w)
		return;
	if (w->h)
		curl_easy_cleanup(w->h);
	buf_free(&w->line);
	buf_free(&w->err_body);
	chain_drop(&w->pending);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w->path);
	free(w);
}

/* The page size of lists: LIST_PAGE_SIZE unless the tests ask for less
 * through the environment, to page through few objects. */
static int list_page_size(int *out, struct dp_err *err)
{
	const char *s = getenv(LIST_PAGE_ENV);
	char *end;
	long n;

	*out = LIST_PAGE_SIZE;
	if (!s)
		return 0;
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || end == s || *end || n < 1 || n > LIST_PAGE_SIZE)
		return dp_errorf(err, -EINVAL, "%s=\"%s\": not a page size "
				 "from 1 to %d", LIST_PAGE_ENV, s,
				 LIST_PAGE_SIZE);
	*out = (int)n;
	return 0;
}

int kube_watch_start(struct kube_client *k, const char *path, int resource,
		     kube_trim_fn trim, int timeout_s, struct kube_queue *q,
		     struct kube_watch **out, struct dp_err *err)
{
	struct kube_watch *w;
	pthread_condattr_t ca;
	int page_size, rc;

	*out = NULL;
	if (path[0] != '/')
		return dp_errorf(err, -EINVAL, "watch: path \"%s\" does not "
				 "start with /", path);
	if (timeout_s < 0)
		return dp_errorf(err, -EINVAL, "watch %s: negative timeout",
				 path);
	rc = list_page_size(&page_size, err);
	if (rc < 0)
		return rc;
	w = calloc(1, sizeof(*w));
	if (!w)
		return nomem(err);
	w->k = k;
	w->q = q;
	w->resource = resource;
	w->trim = trim;
	w->page_size = page_size;
	w->timeout_s = timeout_s ? timeout_s : WATCH_TIMEOUT_S;
	w->backoff_ms = BACKOFF_MIN_MS;
	w->sock = -1;
	w->line.max = LINE_MAX_BYTES;
	w->err_body.max = ERR_BODY_MAX;
	atomic_init(&w->stop, false);
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->wake, &ca);
	pthread_condattr_destroy(&ca);
	w->path = strdup(path);
	w->h = curl_easy_init();
	if (!w->path || !w->h) {
		watch_free(w);
		return nomem(err);
	}
	rc = pthread_create(&w->thread, NULL, watch_main, w);
	if (rc) {
		watch_free(w);
		return dp_errorf(err, -rc, "watch %s: thread: %s", path,
				 strerror(rc));
	}
	*out = w;
	return 0;
}

/* Ends the connection in use at once, for a stop or a relist: curl's
 * progress check alone runs only about once a second on an idle stream.
 * Called with w->lock held, so that a connection opened after the ask was
 * seen is never cut for it. */
static void watch_cut(struct kube_watch *w)
{
	if (w->sock >= 0)
		shutdown(w->sock, SHUT_RDWR);
	pthread_cond_signal(&w->wake);	/* a backoff checks for a stop */
}

void kube_watch_stop(struct kube_watch *w)
{
	if (!w)
		return;
	atomic_store(&w->stop, true);
	pthread_mutex_lock(&w->lock);
	watch_cut(w);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	watch_free(w);
}

void kube_watch_relist(struct kube_watch *w)
{
	pthread_mutex_lock(&w->lock);
	w->relist_asked = true;
	watch_cut(w);
	pthread_mutex_unlock(&w->lock);
}

const char *kube_watch_rv(struct kube_watch *w, char *buf, size_t len)
{
	pthread_mutex_lock(&w->lock);
	snprintf(buf, len, "%s", w->rv);
	pthread_mutex_unlock(&w->lock);
	return buf;
}

bool kube_watch_connected(struct kube_watch *w)
{
	bool up;

	pthread_mutex_lock(&w->lock);
	up = w->connected;
	pthread_mutex_unlock(&w->lock);
	return up;
}

void kube_watch_stats(struct kube_watch *w, struct kube_watch_stats *s)
{
	pthread_mutex_lock(&w->lock);
	*s = w->stats;
	pthread_mutex_unlock(&w->lock);
}
