/* The daemon's one event loop: epoll over file descriptors plus timers,
 * single-threaded, so the daemon's state needs no locks. */
#ifndef BH_POLICYD_LOOP_H
#define BH_POLICYD_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>	/* EPOLLIN and friends for loop_add() */

struct loop;
typedef void (*loop_fd_cb)(struct loop *l, int fd, uint32_t events, void *arg);
typedef void (*loop_timer_cb)(struct loop *l, void *arg);

int loop_new(struct loop **out);
void loop_free(struct loop *l);
/* events: EPOLLIN/EPOLLOUT...; one callback per fd. */
int loop_add(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg);
int loop_mod(struct loop *l, int fd, uint32_t events);
/* Safe from inside any callback, also for the fd being dispatched. */
int loop_del(struct loop *l, int fd);
/* One-shot timer after ms; returns an id for loop_timer_cancel (> 0). */
uint64_t loop_timer(struct loop *l, int ms, loop_timer_cb cb, void *arg);
void loop_timer_cancel(struct loop *l, uint64_t id);
/* Waits up to the next timer (or max_ms) and dispatches; -errno on
 * failure other than EINTR. */
int loop_run_once(struct loop *l, int max_ms);
uint64_t loop_now_ms(void);	/* CLOCK_MONOTONIC */
uint64_t loop_now_ns(void);	/* the same, as the watch threads stamp events */

#endif
