/* Striped copies (see stripe.h). The helpers are started on the first
 * striped copy and live as long as the process; they sleep on a condition
 * variable between copies (a copy big enough to stripe takes milliseconds,
 * so a wake-up costs nothing that shows). One striped copy runs at a time. */
#include "stripe.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "ctx_current.h"
#include "emul.h"
#include "log.h"
#include "session.h"
#include "thread.h"

#define PART_ALIGN ((size_t)4096) /* parts begin on page multiples of the copy */

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t go, done;
    unsigned gen; /* bumped for each copy handed out */
    int left;     /* parts still running */
    int parts, srv;
    size_t n;
    CUcontext ctx;
    rm_stripe_part_cb part;
    void *arg;
    CUresult result[RM_STRIPE_MAX];
    int unsent[RM_STRIPE_MAX]; /* the helper had no channel: nothing of the part went */
} job_t;

static job_t job = {.lock = PTHREAD_MUTEX_INITIALIZER, .go = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER};
static pthread_mutex_t run_lock = PTHREAD_MUTEX_INITIALIZER; /* one striped copy at a time */
static int helpers;                  /* started (run_lock) */
static int lost[RM_MAX_SERVERS];     /* a helper's connection to it died: no more striping (atomic) */
static int streams;
static size_t stripe_min;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

static void after_fork_child(void)
{
    pthread_mutex_init(&run_lock, NULL);
    pthread_mutex_init(&job.lock, NULL);
    pthread_cond_init(&job.go, NULL);
    pthread_cond_init(&job.done, NULL);
    job.gen = 0; /* new helpers start from 0 */
    job.left = 0;
    helpers = 0;
    for (int i = 0; i < RM_MAX_SERVERS; i++)
        lost[i] = 0;
}

__attribute__((constructor)) static void install_fork_handler(void)
{
    pthread_atfork(NULL, NULL, after_fork_child);
}

static void stop_striping(int srv, const char *why, int k, int parts)
{
    if (!__atomic_exchange_n(&lost[srv], 1, __ATOMIC_SEQ_CST))
        RM_WARN("striped copy: stream %d of %d %s; copies use one connection from now on", k + 1, parts, why);
}

static void load_env(void)
{
    /* a session that may resume elsewhere (restore, migration) keeps to one
     * connection per thread unless told: striping's helpers do not follow it */
    streams = (int)rm_env_number("REMORA_TCP_STREAMS", rm_session_resumable() ? 1 : RM_STRIPE_STREAMS_DEFAULT,
                                 RM_STRIPE_MAX);
    stripe_min = (size_t)rm_env_number("REMORA_STRIPE_MIN", RM_STRIPE_MIN_DEFAULT, (uint64_t)1 << 48);
    if (stripe_min < RM_STRIPE_PART_MIN)
        stripe_min = RM_STRIPE_PART_MIN;
}

int rm_stripe_parts(const rm_chan_t *ch, size_t n)
{
    pthread_once(&env_once, load_env);
    if (ch->scheme == RM_SCHEME_SHM || ch->scheme == RM_SCHEME_UCX || streams < 2 || n < stripe_min ||
        __atomic_load_n(&lost[ch->srv], __ATOMIC_RELAXED) || rm_emul_active())
        return 1;
    size_t parts = n / RM_STRIPE_PART_MIN;
    return parts < (size_t)streams ? (int)parts : streams;
}

static size_t part_start(size_t n, int parts, int k)
{
    return k == parts ? n : (size_t)((unsigned __int128)n * (unsigned)k / (unsigned)parts) & ~(PART_ALIGN - 1);
}

/* Part k of the current job, on this helper's channel; *unsent when the
 * helper has none (nothing was sent). */
static CUresult run_part(int k, int *unsent)
{
    CUresult r;
    rm_chan_t *ch = rm_chan_on(job.srv, &r);
    *unsent = !ch;
    if (!ch) {
        stop_striping(job.srv, "could not open its connection to remora-server", k, job.parts);
        return r;
    }
    /* before its first message: its async calls need no fences (chan.c) */
    __atomic_store_n(&ch->helper, 1, __ATOMIC_RELEASE);
    if ((r = rm_ctx_adopt(job.ctx)) != CUDA_SUCCESS)
        return r;
    size_t off = part_start(job.n, job.parts, k);
    r = job.part(ch, off, part_start(job.n, job.parts, k + 1) - off, job.arg);
    if (r == CUDA_SUCCESS)
        r = rm_chan_take_deferred(ch); /* its chunks sent without a reply */
    if (ch->dead)
        stop_striping(job.srv, "lost its connection to remora-server (this copy failed)", k, job.parts);
    return r;
}

static void *helper_main(void *arg)
{
    int k = (int)(intptr_t)arg;
    unsigned seen = 0;
    pthread_mutex_lock(&job.lock);
    for (;;) {
        while (job.gen == seen)
            pthread_cond_wait(&job.go, &job.lock);
        seen = job.gen;
        if (k >= job.parts)
            continue;
        pthread_mutex_unlock(&job.lock);
        int unsent;
        CUresult r = run_part(k, &unsent);
        pthread_mutex_lock(&job.lock);
        job.result[k] = r;
        job.unsent[k] = unsent;
        if (--job.left == 0)
            pthread_cond_signal(&job.done);
    }
    return NULL;
}

CUresult rm_stripe_run(rm_chan_t *ch, size_t n, int parts, rm_stripe_part_cb part, void *arg, int *striped)
{
    *striped = 0;
    if (parts < 2 || parts > RM_STRIPE_MAX || pthread_mutex_trylock(&run_lock) != 0)
        return CUDA_SUCCESS;
    while (helpers < parts && rm_thread_detached(helper_main, (void *)(intptr_t)helpers) == 0)
        helpers++;
    if (helpers < parts) {
        RM_WARN("striped copy: could not start its helper threads; copying over one connection");
        pthread_mutex_unlock(&run_lock);
        return CUDA_SUCCESS;
    }
    RM_DEBUG("striped copy: %zu bytes over %d connections", n, parts);
    pthread_mutex_lock(&job.lock);
    job.parts = parts;
    job.left = parts;
    job.srv = ch->srv;
    job.n = n;
    job.ctx = rm_ctx_current();
    job.part = part;
    job.arg = arg;
    job.gen++;
    pthread_cond_broadcast(&job.go);
    while (job.left)
        pthread_cond_wait(&job.done, &job.lock);
    CUresult result[RM_STRIPE_MAX];
    int unsent[RM_STRIPE_MAX];
    memcpy(result, job.result, sizeof result);
    memcpy(unsent, job.unsent, sizeof unsent);
    pthread_mutex_unlock(&job.lock);
    CUresult r = CUDA_SUCCESS;
    for (int k = 0; k < parts; k++) {
        if (unsent[k]) { /* the caller's channel takes the part over */
            size_t off = part_start(n, parts, k);
            result[k] = part(ch, off, part_start(n, parts, k + 1) - off, arg);
        }
        if (r == CUDA_SUCCESS)
            r = result[k];
    }
    pthread_mutex_unlock(&run_lock);
    *striped = 1;
    return r;
}
