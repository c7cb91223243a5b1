/* Parallel memcpy (see pcopy.h). A small pool of helper threads, started on
 * first use, each takes one slice of a copy; the caller copies the first
 * slice itself and waits for the rest. Helpers busy-poll briefly after each
 * copy before sleeping, so the chunks of one staged transfer find them
 * awake. Copies below PCOPY_MIN stay on the caller's thread.
 * REMORA_COPY_THREADS sets the pool size (0 disables). */
#include "pcopy.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "thread.h"

#define PCOPY_MIN (128u << 10)
#define SLICE_MIN (64u << 10)
#define MAX_HELPERS 7
#define SPIN_NS 100000 /* how long an idle helper polls before sleeping */

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t go;
    unsigned gen;      /* bumped for each copy handed out (atomic) */
    int busy;          /* helpers still copying (atomic) */
    int sleepers;      /* helpers waiting on `go` (atomic) */
    char *dst;
    const char *src;
    size_t slice, n;
} pool_t;

static pool_t pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, NULL, NULL, 0, 0};
static int helpers = -1; /* -1: not started */
static pthread_mutex_t copy_lock = PTHREAD_MUTEX_INITIALIZER; /* one parallel copy at a time */

/* A forked child has none of the helper threads: start afresh. */
static void after_fork_child(void)
{
    pthread_mutex_init(&copy_lock, NULL);
    pthread_mutex_init(&pool.lock, NULL);
    pthread_cond_init(&pool.go, NULL);
    pool.busy = pool.sleepers = 0;
    pool.gen = 0; /* new helpers start from 0 */
    helpers = -1;
}

__attribute__((constructor)) static void install_fork_handler(void)
{
    pthread_atfork(NULL, NULL, after_fork_child);
}

static void copy_slice(int k)
{
    size_t off = (size_t)k * pool.slice;
    if (off < pool.n)
        memcpy(pool.dst + off, pool.src + off, pool.n - off < pool.slice ? pool.n - off : pool.slice);
}

/* Wait until a copy newer than `seen` is handed out; returns its number. */
static unsigned wait_for_work(unsigned seen)
{
    uint64_t until = rm_now_ns() + SPIN_NS;
    for (unsigned i = 0;; i++) {
        unsigned g = __atomic_load_n(&pool.gen, __ATOMIC_SEQ_CST);
        if (g != seen)
            return g;
        if ((i & 63) == 0 && rm_now_ns() > until)
            break;
        __builtin_ia32_pause();
    }
    pthread_mutex_lock(&pool.lock);
    __atomic_add_fetch(&pool.sleepers, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&pool.gen, __ATOMIC_SEQ_CST) == seen)
        pthread_cond_wait(&pool.go, &pool.lock);
    __atomic_sub_fetch(&pool.sleepers, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&pool.lock);
    return __atomic_load_n(&pool.gen, __ATOMIC_SEQ_CST);
}

static void *helper_main(void *arg)
{
    int k = (int)(intptr_t)arg;
    unsigned seen = 0;
    for (;;) {
        seen = wait_for_work(seen);
        copy_slice(k);
        __atomic_sub_fetch(&pool.busy, 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

static void start_pool(void)
{
    /* default: a helper per four cores, at most three (none on small machines,
     * where spinning helpers would take the cores the server needs) */
    const char *env = getenv("REMORA_COPY_THREADS");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int want = env ? atoi(env) : (int)(cpus / 4 < 3 ? cpus / 4 : 3);
    if (want > MAX_HELPERS)
        want = MAX_HELPERS;
    helpers = 0;
    for (int i = 1; i <= want && rm_thread_detached(helper_main, (void *)(intptr_t)i) == 0; i++)
        helpers++;
}

void rm_pcopy(void *dst, const void *src, size_t n)
{
    if (n < PCOPY_MIN || pthread_mutex_trylock(&copy_lock) != 0) {
        memcpy(dst, src, n); /* small, or another thread holds the pool */
        return;
    }
    if (helpers < 0)
        start_pool();
    size_t parts = n / SLICE_MIN < (size_t)helpers + 1 ? n / SLICE_MIN : (size_t)helpers + 1;
    if (parts < 2) {
        pthread_mutex_unlock(&copy_lock);
        memcpy(dst, src, n);
        return;
    }
    pool.dst = dst;
    pool.src = src;
    pool.n = n;
    pool.slice = (n + parts - 1) / parts;
    __atomic_store_n(&pool.busy, helpers, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&pool.gen, 1, __ATOMIC_SEQ_CST); /* publishes the fields above */
    if (__atomic_load_n(&pool.sleepers, __ATOMIC_SEQ_CST)) {
        pthread_mutex_lock(&pool.lock);
        pthread_cond_broadcast(&pool.go);
        pthread_mutex_unlock(&pool.lock);
    }
    copy_slice(0);
    while (__atomic_load_n(&pool.busy, __ATOMIC_SEQ_CST))
        __builtin_ia32_pause(); /* the slices are equal: the others finish about now */
    pthread_mutex_unlock(&copy_lock);
}
