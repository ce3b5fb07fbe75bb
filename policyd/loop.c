/* The daemon's event loop: epoll for file descriptors, a binary heap of
 * one-shot timers, and deferred frees so callbacks may remove anything. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "policyd/loop.h"

#define LOOP_MAX_EVENTS 64

/* A watched fd. epoll hands back a pointer to this, so an entry removed
 * while events for it are pending is only marked dead and freed after the
 * dispatch round that might still look at it. */
struct loop_fd {
	int fd;
	bool dead;
	loop_fd_cb cb;
	void *arg;
	struct loop_fd *next_dead;
};

/* Timers are ordered by (due, id): equal deadlines fire in the order they
 * were set. */
struct loop_timer {
	uint64_t due_ms;
	uint64_t id;
	loop_timer_cb cb;
	void *arg;
};

struct loop {
	int epfd;
	struct loop_fd **by_fd;		/* live entries indexed by fd */
	size_t nby_fd;
	struct loop_fd *dead;		/* removed, freed after dispatch */
	struct loop_timer *heap;
	size_t nheap, capheap;
	uint64_t next_id;
};

uint64_t loop_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t loop_now_ms(void)
{
	return loop_now_ns() / 1000000;
}

int loop_new(struct loop **out)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int e = -errno;

		free(l);
		return e;
	}
	l->next_id = 1;
	*out = l;
	return 0;
}

static void free_dead(struct loop *l)
{
	while (l->dead) {
		struct loop_fd *e = l->dead;

		l->dead = e->next_dead;
		free(e);
	}
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->nby_fd; i++)
		free(l->by_fd[i]);
	free_dead(l);
	free(l->by_fd);
	free(l->heap);
	close(l->epfd);
	free(l);
}

static struct loop_fd *find_fd(const struct loop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->nby_fd)
		return NULL;
	return l->by_fd[fd];
}

/* Makes room for index fd in by_fd. */
static int grow_by_fd(struct loop *l, int fd)
{
	size_t n = l->nby_fd ? l->nby_fd : 16;
	struct loop_fd **p;

	if ((size_t)fd < l->nby_fd)
		return 0;
	while (n <= (size_t)fd)
		n *= 2;
	p = realloc(l->by_fd, n * sizeof(*p));
	if (!p)
		return -ENOMEM;
	memset(p + l->nby_fd, 0, (n - l->nby_fd) * sizeof(*p));
	l->by_fd = p;
	l->nby_fd = n;
	return 0;
}

int loop_add(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
	struct epoll_event ev = { .events = events };
	struct loop_fd *e;
	int r;

	if (fd < 0 || !cb)
		return -EINVAL;
	if (find_fd(l, fd))
		return -EEXIST;
	r = grow_by_fd(l, fd);
	if (r < 0)
		return r;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->fd = fd;
	e->cb = cb;
	e->arg = arg;
	ev.data.ptr = e;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		r = -errno;
		free(e);
		return r;
	}
	l->by_fd[fd] = e;
	return 0;
}

int loop_mod(struct loop *l, int fd, uint32_t events)
{
	struct loop_fd *e = find_fd(l, fd);
	struct epoll_event ev = { .events = events };

	if (!e)
		return -ENOENT;
	ev.data.ptr = e;
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	return 0;
}

int loop_del(struct loop *l, int fd)
{
	struct loop_fd *e = find_fd(l, fd);

	if (!e)
		return -ENOENT;
	/* The fd may already be closed (its epoll entry then went with it);
	 * forgetting our side is what matters. */
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	l->by_fd[fd] = NULL;
	e->dead = true;
	e->next_dead = l->dead;
	l->dead = e;
	return 0;
}

/* --- timers: a min-heap on (due, id) ------------------------------------- */

static bool timer_before(const struct loop_timer *a, const struct loop_timer *b)
{
	return a->due_ms != b->due_ms ? a->due_ms < b->due_ms : a->id < b->id;
}

static void heap_swap(struct loop *l, size_t i, size_t j)
{
	struct loop_timer t = l->heap[i];

	l->heap[i] = l->heap[j];
	l->heap[j] = t;
}

static void sift_up(struct loop *l, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!timer_before(&l->heap[i], &l->heap[parent]))
			return;
		heap_swap(l, i, parent);
		i = parent;
	}
}

static void sift_down(struct loop *l, size_t i)
{
	for (;;) {
		size_t left = 2 * i + 1, right = left + 1, least = i;

		if (left < l->nheap && timer_before(&l->heap[left], &l->heap[least]))
			least = left;
		if (right < l->nheap && timer_before(&l->heap[right], &l->heap[least]))
			least = right;
		if (least == i)
			return;
		heap_swap(l, i, least);
		i = least;
	}
}

/* Removes heap[i], keeping the heap ordered. */
static void heap_remove(struct loop *l, size_t i)
{
	l->nheap--;
	if (i == l->nheap)
		return;
	l->heap[i] = l->heap[l->nheap];
	sift_up(l, i);
	sift_down(l, i);
}

uint64_t loop_timer(struct loop *l, int ms, loop_timer_cb cb, void *arg)
{
	struct loop_timer t = { .cb = cb, .arg = arg };

	if (!cb)
		return 0;
	if (l->nheap == l->capheap) {
		size_t n = l->capheap ? l->capheap * 2 : 16;
		struct loop_timer *p = realloc(l->heap, n * sizeof(*p));

		if (!p)
			return 0;
		l->heap = p;
		l->capheap = n;
	}
	t.due_ms = loop_now_ms() + (uint64_t)(ms > 0 ? ms : 0);
	t.id = l->next_id++;
	l->heap[l->nheap] = t;
	sift_up(l, l->nheap++);
	return t.id;
}

void loop_timer_cancel(struct loop *l, uint64_t id)
{
	for (size_t i = 0; id && i < l->nheap; i++) {
		if (l->heap[i].id == id) {
			heap_remove(l, i);
			return;
		}
	}
}

/* Fires the timers due now that existed when the round began: a callback
 * that sets a new 0 ms timer gets it on the next round, not in a loop. */
static int run_timers(struct loop *l)
{
	uint64_t now = loop_now_ms(), last_id = l->next_id - 1;
	int n = 0;

	while (l->nheap && l->heap[0].due_ms <= now && l->heap[0].id <= last_id) {
		struct loop_timer t = l->heap[0];

		heap_remove(l, 0);
		t.cb(l, t.arg);
		n++;
	}
	return n;
}

/* How long epoll may sleep: until the next timer, at most max_ms (< 0: no
 * limit of its own). */
static int wait_ms(const struct loop *l, int max_ms)
{
	uint64_t now, left;

	if (!l->nheap)
		return max_ms;
	now = loop_now_ms();
	left = l->heap[0].due_ms > now ? l->heap[0].due_ms - now : 0;
	if (max_ms >= 0 && (uint64_t)max_ms < left)
		return max_ms;
	return left > 0x7fffffff ? 0x7fffffff : (int)left;
}

int loop_run_once(struct loop *l, int max_ms)
{
	struct epoll_event evs[LOOP_MAX_EVENTS];
	int n, dispatched = 0;

	n = epoll_wait(l->epfd, evs, LOOP_MAX_EVENTS, wait_ms(l, max_ms));
	if (n < 0 && errno != EINTR)
		return -errno;
	for (int i = 0; i < n; i++) {
		struct loop_fd *e = evs[i].data.ptr;

		if (e->dead)
			continue;
		e->cb(l, e->fd, evs[i].events, e->arg);
		dispatched++;
	}
	dispatched += run_timers(l);
	free_dead(l);
	return dispatched;
}
