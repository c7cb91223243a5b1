/* Parallel memcpy (see pcopy.h). A small pool of helper threads, started on
 * first use, each takes one slice of a copy; the caller copies the first
 * slice itself and waits for the rest. Copies below PCOPY_MIN stay on the
 * caller's thread. REMORA_COPY_THREADS sets the pool size (0 disables). */
#include "pcopy.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PCOPY_MIN (512u << 10)
#define SLICE_MIN (256u << 10)
#define MAX_HELPERS 7

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t go, done;
    unsigned gen;      /* bumped for each copy handed out */
    int busy;          /* helpers still copying */
    char *dst;
    const char *src;
    size_t slice, n;
} pool_t;

static pool_t pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, NULL, NULL, 0, 0};
static int helpers = -1; /* -1: not started */
static pthread_mutex_t copy_lock = PTHREAD_MUTEX_INITIALIZER; /* one parallel copy at a time */

/* A forked child has none of the helper threads: start afresh. */
static void after_fork_child(void)
{
    pthread_mutex_init(&copy_lock, NULL);
    pthread_mutex_init(&pool.lock, NULL);
    pthread_cond_init(&pool.go, NULL);
    pthread_cond_init(&pool.done, NULL);
    pool.busy = 0;
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

static void *helper_main(void *arg)
{
    int k = (int)(intptr_t)arg;
    unsigned seen = 0;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        while (pool.gen == seen)
            pthread_cond_wait(&pool.go, &pool.lock);
        seen = pool.gen;
        pthread_mutex_unlock(&pool.lock);
        copy_slice(k);
        pthread_mutex_lock(&pool.lock);
        if (--pool.busy == 0)
            pthread_cond_signal(&pool.done);
    }
    return NULL;
}

static void start_pool(void)
{
    const char *env = getenv("REMORA_COPY_THREADS");
    int want = env ? atoi(env) : 3;
    if (want > MAX_HELPERS)
        want = MAX_HELPERS;
    helpers = 0;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (int i = 1; i <= want; i++) {
        pthread_t t;
        if (pthread_create(&t, &attr, helper_main, (void *)(intptr_t)i) != 0)
            break;
        helpers++;
    }
    pthread_attr_destroy(&attr);
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
    pthread_mutex_lock(&pool.lock);
    pool.dst = dst;
    pool.src = src;
    pool.n = n;
    pool.slice = (n + parts - 1) / parts;
    pool.busy = helpers;
    pool.gen++;
    pthread_cond_broadcast(&pool.go);
    pthread_mutex_unlock(&pool.lock);
    copy_slice(0);
    pthread_mutex_lock(&pool.lock);
    while (pool.busy)
        pthread_cond_wait(&pool.done, &pool.lock);
    pthread_mutex_unlock(&pool.lock);
    pthread_mutex_unlock(&copy_lock);
}
