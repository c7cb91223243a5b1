/* Threads nobody joins. */
#ifndef RM_THREAD_H
#define RM_THREAD_H

/* Start fn(arg) on a detached thread: 0, or an errno value. */
int rm_thread_detached(void *(*fn)(void *), void *arg);

#endif
