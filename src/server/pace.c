/* Pacing one session's launches to its compute share (pace.h). */
#include "pace.h"

#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "thread.h"

#define POLL_NS 50000 /* between looks while waiting for room, or for runs to complete */
/* Waiting for anything but the share itself (launches not measured yet, the
 * turn) ends after this: one may wait behind work that never completes on
 * its own. */
#define PENDING_WAIT_NS (2 * RM_SHARE_WINDOW_NS)

void rm_pace_init(rm_pace_t *p, const rm_backend_t *b, uint64_t session)
{
    memset(p, 0, sizeof *p);
    p->b = b;
    p->session = session;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->runs, NULL);
}

void rm_pace_attach(rm_pace_t *p, rm_share_table_t *t, size_t slot, uint32_t percent, int pinned,
                    uint64_t *busy_counter)
{
    p->table = t;
    p->slot = slot;
    p->busy_counter = busy_counter;
    p->operator_percent = percent < 100 ? percent : 0;
    p->pinned = pinned;
    for (int d = 0; d < RM_SHARE_DEVICES; d++) {
        p->percent[d] = p->operator_percent;
        if (p->operator_percent)
            rm_share_set(t, slot, d, p->percent[d], pinned);
    }
}

void rm_pace_destroy(rm_pace_t *p)
{
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->runs);
}

uint32_t rm_pace_request(rm_pace_t *p, int dev, uint32_t want)
{
    if (dev < 0 || dev >= RM_SHARE_DEVICES)
        return 0;
    uint32_t l = p->operator_percent;
    want = want < 100 ? want : 0;
    if (want && (!l || want < l))
        l = want;
    pthread_mutex_lock(&p->lock);
    __atomic_store_n(&p->percent[dev], l, __ATOMIC_RELAXED); /* rm_pace_active reads it without the lock */
    pthread_mutex_unlock(&p->lock);
    rm_share_set(p->table, p->slot, dev, l, p->pinned);
    return l;
}

uint32_t rm_pace_max_share(rm_pace_t *p, int ndev)
{
    uint32_t m = 0;
    pthread_mutex_lock(&p->lock);
    for (int d = 0; d < ndev && d < RM_SHARE_DEVICES; d++) {
        if (!p->percent[d]) {
            m = 0;
            break;
        }
        m = p->percent[d] > m ? p->percent[d] : m;
    }
    pthread_mutex_unlock(&p->lock);
    return m;
}

int rm_pace_active(const rm_pace_t *p, int dev)
{
    return p->table && dev >= 0 && dev < RM_SHARE_DEVICES && __atomic_load_n(&p->percent[dev], __ATOMIC_RELAXED);
}

/* A launch begun on dev is measured or will not be (p->lock held): with
 * none left in flight there, the session lets its turn go. */
static void settled(rm_pace_t *p, int dev)
{
    if (p->inflight[dev] && --p->inflight[dev] == 0)
        rm_share_idle(p->table, p->slot, dev);
}

static void drop_oldest(rm_pace_t *p)
{
    rm_pace_run_t *r = &p->run[p->head];
    p->b->cuEventDestroy_v2(r->start);
    p->b->cuEventDestroy_v2(r->end);
    settled(p, r->dev);
    p->head = (p->head + 1) % RM_PACE_RUNS;
    p->nrun--;
}

/* Reads back the runs that completed, oldest first up to the first that has
 * not (p->lock held): their time is credited, their events go. */
static void reap(rm_pace_t *p)
{
    uint64_t now = rm_now_ns();
    while (p->nrun) {
        rm_pace_run_t *r = &p->run[p->head];
        CUresult q = p->b->cuEventQuery(r->end);
        if (q == CUDA_ERROR_NOT_READY)
            return;
        float ms = 0;
        if (q == CUDA_SUCCESS && p->b->cuEventElapsedTime_v2(&ms, r->start, r->end) == CUDA_SUCCESS && ms > 0) {
            uint64_t ns = (uint64_t)((double)ms * 1e6);
            rm_share_credit(p->table, p->slot, r->dev, now, ns);
            if (p->busy_counter)
                __atomic_fetch_add(p->busy_counter, ns, __ATOMIC_RELAXED);
            uint64_t *avg = &p->avg_ns[r->dev];
            *avg = *avg ? (*avg * 7 + ns) / 8 : ns;
        }
        drop_oldest(p);
    }
}

/* What the runs started on dev and not measured yet will take, as far as
 * earlier ones tell; a whole window while none has been measured (one
 * launch at a time until the first is). */
static uint64_t pending_ns(const rm_pace_t *p, int dev)
{
    uint64_t n = 0;
    for (size_t i = 0; i < p->nrun; i++)
        n += p->run[(p->head + i) % RM_PACE_RUNS].dev == dev;
    if (!n)
        return 0;
    return p->avg_ns[dev] ? n * p->avg_ns[dev] : RM_SHARE_WINDOW_NS;
}

static void nap(void)
{
    struct timespec ts = {0, POLL_NS};
    nanosleep(&ts, NULL);
}

/* Waits (p->lock held, released while asleep) until the share has room
 * for one more launch on dev, the session has the turn and a run slot is
 * free; that launch is then in flight. */
static void wait_for_room(rm_pace_t *p, int dev)
{
    uint64_t since = rm_now_ns();
    for (;;) {
        reap(p);
        uint64_t now = rm_now_ns(), pend = pending_ns(p, dev);
        int room = rm_share_may_run(p->table, p->slot, dev, now, pend);
        if (!room && now - since > PENDING_WAIT_NS && rm_share_entitled(p->table, p->slot, dev, now, 0)) {
            room = 1; /* what stands in the way (unmeasured work, another's turn) does not end */
            rm_share_unwait(p->table, p->slot, dev);
        }
        if (room && p->nrun < RM_PACE_RUNS) {
            p->inflight[dev]++;
            return;
        }
        pthread_mutex_unlock(&p->lock);
        nap();
        pthread_mutex_lock(&p->lock);
    }
}

void rm_pace_begin(rm_pace_t *p, int dev, CUstream s, rm_pace_ticket_t *t)
{
    *t = (rm_pace_ticket_t){.dev = dev};
    if (!rm_pace_active(p, dev) || !p->b->cuEventCreate || !p->b->cuEventRecord || !p->b->cuEventQuery ||
        !p->b->cuEventElapsedTime_v2 || !p->b->cuEventDestroy_v2)
        return;
    pthread_mutex_lock(&p->lock);
    wait_for_room(p, dev);
    pthread_mutex_unlock(&p->lock);
    t->active = 1;
    CUevent e;
    if (p->b->cuEventCreate(&e, CU_EVENT_DEFAULT) != CUDA_SUCCESS)
        return;
    if (p->b->cuEventRecord(e, s) != CUDA_SUCCESS) {
        p->b->cuEventDestroy_v2(e);
        return;
    }
    t->start = e;
}

/* The session's reader of runs: while any are in flight it reads them back
 * every POLL_NS, so that a session that stopped launching is credited and
 * lets its turn go; then it sleeps until there are more. */
static void *reaper_main(void *arg)
{
    rm_pace_t *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->nrun)
            pthread_cond_wait(&p->runs, &p->lock);
        reap(p);
        if (p->nrun) {
            pthread_mutex_unlock(&p->lock);
            nap();
            pthread_mutex_lock(&p->lock);
        }
    }
    return NULL;
}

void rm_pace_end(rm_pace_t *p, CUstream s, rm_pace_ticket_t *t, CUresult r)
{
    if (!t->active)
        return;
    CUevent e = NULL;
    int measured = t->start && r == CUDA_SUCCESS && p->b->cuEventCreate(&e, CU_EVENT_DEFAULT) == CUDA_SUCCESS &&
                   p->b->cuEventRecord(e, s) == CUDA_SUCCESS;
    if (!measured) {
        if (e)
            p->b->cuEventDestroy_v2(e);
        if (t->start)
            p->b->cuEventDestroy_v2(t->start);
    }
    pthread_mutex_lock(&p->lock);
    if (!measured) {
        settled(p, t->dev);
    } else if (p->nrun < RM_PACE_RUNS) {
        p->run[(p->head + p->nrun++) % RM_PACE_RUNS] = (rm_pace_run_t){.start = t->start, .end = e, .dev = t->dev};
        if (!p->reaper)
            p->reaper = rm_thread_detached(reaper_main, p) == 0;
        pthread_cond_signal(&p->runs);
    } else { /* another thread took the last slot meanwhile: this one goes unmeasured */
        p->b->cuEventDestroy_v2(t->start);
        p->b->cuEventDestroy_v2(e);
        settled(p, t->dev);
        RM_DEBUG("session %llu: a launch on GPU %d not measured (%d already are)", (unsigned long long)p->session,
                 t->dev, RM_PACE_RUNS);
    }
    pthread_mutex_unlock(&p->lock);
}
