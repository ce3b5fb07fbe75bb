/* Unit tests of the event loop: fd callbacks, timers in deadline order,
 * cancelling, and removing fds from inside a callback. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "policyd/loop.h"
#include "tests/tap.h"

/* Runs the loop until *flag is set or deadline_ms passes; whether it was. */
static bool run_until(struct loop *l, const bool *flag, int deadline_ms)
{
	uint64_t end = loop_now_ms() + (uint64_t)deadline_ms;

	while (!*flag && loop_now_ms() < end)
		if (loop_run_once(l, 50) < 0)
			return false;
	return *flag;
}

/* --- fds ----------------------------------------------------------------- */

struct pipe_seen {
	int calls;
	uint32_t events;
	char byte;
	bool done;
};

static void on_readable(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct pipe_seen *s = arg;

	(void)l;
	s->calls++;
	s->events = events;
	if (read(fd, &s->byte, 1) == 1)
		s->done = true;
}

static void test_fd_callback(void)
{
	struct pipe_seen seen = { 0 };
	struct loop *l;
	int p[2];

	if (loop_new(&l) < 0 || pipe(p) < 0) {
		ok(0, "loop and pipe");
		return;
	}
	is_int(loop_add(l, p[0], EPOLLIN, on_readable, &seen), 0, "loop_add");
	is_int(loop_add(l, p[0], EPOLLIN, on_readable, &seen), -EEXIST,
	       "a second loop_add of the same fd is refused");
	is_int(loop_run_once(l, 0), 0, "nothing to do on an empty pipe");
	is_int(write(p[1], "x", 1), 1, "write a byte");
	ok(run_until(l, &seen.done, 2000), "the read callback ran");
	is_int(seen.calls, 1, "once");
	ok(seen.events & EPOLLIN, "with EPOLLIN");
	is_int(seen.byte, 'x', "and read the byte");

	is_int(loop_mod(l, p[0], 0), 0, "loop_mod to no events");
	seen.done = false;
	is_int(write(p[1], "y", 1), 1, "write another byte");
	loop_run_once(l, 20);
	is_int(seen.calls, 1, "no callback while not asked for events");
	is_int(loop_mod(l, p[0], EPOLLIN), 0, "loop_mod back to EPOLLIN");
	ok(run_until(l, &seen.done, 2000), "the callback runs again");
	is_int(seen.byte, 'y', "with the second byte");

	is_int(loop_del(l, p[0]), 0, "loop_del");
	is_int(loop_del(l, p[0]), -ENOENT, "loop_del of an unknown fd");
	is_int(loop_mod(l, p[0], EPOLLIN), -ENOENT, "loop_mod of an unknown fd");
	is_int(write(p[1], "z", 1), 1, "write after loop_del");
	is_int(loop_run_once(l, 20), 0, "no callback after loop_del");
	close(p[0]);
	close(p[1]);
	loop_free(l);
}

/* Two readable pipes; whichever callback runs first removes (and closes)
 * both, so the other, already returned by epoll, must not run. */
struct del_pair {
	struct loop *l;
	int rd[2];
	int calls;
};

static void on_readable_del_both(struct loop *l, int fd, uint32_t events,
				 void *arg)
{
	struct del_pair *d = arg;

	(void)fd;
	(void)events;
	d->calls++;
	for (int i = 0; i < 2; i++) {
		loop_del(l, d->rd[i]);
		close(d->rd[i]);
	}
}

static void test_del_in_callback(void)
{
	struct del_pair d = { 0 };
	int a[2], b[2];

	if (loop_new(&d.l) < 0 || pipe(a) < 0 || pipe(b) < 0) {
		ok(0, "loop and pipes");
		return;
	}
	d.rd[0] = a[0];
	d.rd[1] = b[0];
	loop_add(d.l, a[0], EPOLLIN, on_readable_del_both, &d);
	loop_add(d.l, b[0], EPOLLIN, on_readable_del_both, &d);
	if (write(a[1], "x", 1) != 1 || write(b[1], "x", 1) != 1)
		ok(0, "write");
	/* Give both a moment to be readable in the same epoll_wait. */
	is_int(loop_run_once(d.l, 1000), 1, "one dispatch in the round");
	is_int(d.calls, 1, "the fd deleted by the other callback did not run");
	is_int(loop_run_once(d.l, 20), 0, "and nothing runs later");
	close(a[1]);
	close(b[1]);
	loop_free(d.l);
}

/* --- timers -------------------------------------------------------------- */

struct timer_log {
	struct loop *l;
	char order[16];
	size_t n;
	uint64_t cancel_id;	/* cancelled by the first timer to fire */
	bool rearmed;
	bool done;
};

struct timer_tag {
	struct timer_log *log;
	char name;
};

static void on_timer(struct loop *l, void *arg)
{
	struct timer_tag *t = arg;

	(void)l;
	if (t->log->n < sizeof(t->log->order) - 1)
		t->log->order[t->log->n++] = t->name;
	if (t->name == 'c')
		t->log->done = true;
}

static void test_timer_order(void)
{
	struct timer_log log = { 0 };
	struct timer_tag a = { &log, 'a' }, b = { &log, 'b' }, c = { &log, 'c' },
			 b2 = { &log, 'B' }, x = { &log, 'x' };
	uint64_t t0, idx;
	struct loop *l;

	if (loop_new(&l) < 0) {
		ok(0, "loop_new");
		return;
	}
	t0 = loop_now_ms();
	loop_timer(l, 60, on_timer, &c);
	idx = loop_timer(l, 40, on_timer, &x);
	loop_timer(l, 20, on_timer, &b);
	loop_timer(l, 20, on_timer, &b2);
	ok(loop_timer(l, 0, on_timer, &a) > 0, "timer ids are positive");
	loop_timer_cancel(l, idx);
	loop_timer_cancel(l, 9999);	/* unknown: ignored */
	ok(run_until(l, &log.done, 5000), "the last timer fired");
	is_str(log.order, "abBc",
	       "timers fire by deadline, equal ones in the order set, cancelled never");
	ok(loop_now_ms() - t0 >= 60, "not before their time (%llu ms)",
	   (unsigned long long)(loop_now_ms() - t0));
	loop_free(l);
}

/* A timer that cancels another due in the same round, and one that sets a
 * 0 ms timer, which must wait for the next round. */
static void on_timer_cancel_other(struct loop *l, void *arg)
{
	struct timer_log *log = arg;

	log->order[log->n++] = 'k';
	loop_timer_cancel(l, log->cancel_id);
}

static void on_timer_victim(struct loop *l, void *arg)
{
	struct timer_log *log = arg;

	(void)l;
	log->order[log->n++] = 'v';
}

static void on_timer_rearm(struct loop *l, void *arg)
{
	struct timer_log *log = arg;

	log->order[log->n++] = 'r';
	if (!log->rearmed) {
		log->rearmed = true;
		loop_timer(l, 0, on_timer_rearm, log);
	} else {
		log->done = true;
	}
}

static void test_timer_cancel_in_callback(void)
{
	struct timer_log log = { 0 };
	struct loop *l;

	if (loop_new(&l) < 0) {
		ok(0, "loop_new");
		return;
	}
	loop_timer(l, 0, on_timer_cancel_other, &log);
	log.cancel_id = loop_timer(l, 0, on_timer_victim, &log);
	loop_timer(l, 0, on_timer_rearm, &log);
	is_int(loop_run_once(l, 1000), 2, "two timers ran in the first round");
	is_str(log.order, "kr", "the cancelled one did not, nor the re-armed one");
	ok(run_until(l, &log.done, 2000), "the re-armed timer ran later");
	is_str(log.order, "krr", "once");
	loop_free(l);
}

int main(void)
{
	test_fd_callback();
	test_del_in_callback();
	test_timer_order();
	test_timer_cancel_in_callback();
	return done_testing();
}
