/* Client: host functions and stream callbacks. They run here, in the
 * client, when the server reports that their stream reached them, and the
 * stream waits until they return (sv_hostfn.c has the server's half).
 *
 * Each pending function is served by a thread of a small pool that grows
 * when every thread is busy: functions of different streams may become due
 * in any order, and one waiting for its stream must not hold up another.
 *
 * A host function in a graph (a host node, or one launched on a stream being
 * captured) recurs: it is kept under a key, and a thread of its own asks
 * the server for the runs that are due (host_node_next) and hands each to
 * the pool like a one-off function. With several servers each job talks to
 * the server of its stream, and each server with recurring functions has a
 * thread asking it for runs.
 *
 * A copy whose host bytes remora reads when the copy is issued (all but
 * those from shared page-locked segments) first waits for the pending
 * functions of its stream, which may still write those bytes: what the
 * driver does for pageable memory anyway (hostfn.h). */
#include <cuda.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "export.h"
#include "graph.h"
#include "hostfn.h"
#include "log.h"
#include "rm_stubs.h"
#include "route.h"
#include "thread.h"

typedef struct job {
    uint64_t gate;
    CUstream stream;
    CUhostFn fn;
    void *data;
    void (*not_run)(void *data, CUresult why); /* its stream failed; or NULL */
    void (*release)(void *data);               /* cancelled: free data; or NULL */
    int srv;            /* the server whose stream reaches it (route.h) */
    int cancelled;      /* atomic: the gate never reached the server */
    struct job *next;   /* queue of jobs no thread has taken */
    struct job *active; /* every job not finished */
} job_t;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t job_finished = PTHREAD_COND_INITIALIZER;
static job_t *queue_head, **queue_tail = &queue_head;
static job_t *active_head;
static int idle_threads, queued;
static uint64_t next_gate; /* also the keys of recurring functions */

typedef struct recurring {
    uint64_t key;
    CUhostFn fn;
    void *data;
    struct recurring *next;
} recurring_t;

/* With pool_lock. */
static recurring_t *recurring_head;
static pthread_cond_t recurring_added = PTHREAD_COND_INITIALIZER;
static unsigned runs_threads; /* bit srv: the thread asking server srv for runs started */

static int is_legacy(CUstream s) { return s == NULL || s == CU_STREAM_LEGACY; }

void rm_hostfn_wait(CUstream s)
{
    if (!__atomic_load_n(&active_head, __ATOMIC_ACQUIRE))
        return; /* the usual case: no host function pending */
    pthread_mutex_lock(&pool_lock);
    for (;;) {
        job_t *j = active_head;
        while (j && !(is_legacy(s) || j->stream == s))
            j = j->active;
        if (!j)
            break;
        pthread_cond_wait(&job_finished, &pool_lock);
    }
    pthread_mutex_unlock(&pool_lock);
}

static void finished(job_t *j)
{
    pthread_mutex_lock(&pool_lock);
    job_t **p = &active_head;
    while (*p != j)
        p = &(*p)->active;
    *p = j->active;
    pthread_cond_broadcast(&job_finished);
    pthread_mutex_unlock(&pool_lock);
    free(j);
}

static void keep_recurring(uint64_t key, CUhostFn fn, void *data, int srv);

/* On a pool thread pinned to the job's server. */
static void run_job(job_t *j)
{
    rm_host_func_wait_req_t win = {.gate = j->gate};
    rm_host_func_wait_rep_t wout = {0};
    CUresult r;
    while ((r = rm_call_host_func_wait(&win, &wout)) == CUDA_ERROR_NOT_READY &&
           !__atomic_load_n(&j->cancelled, __ATOMIC_ACQUIRE))
        ; /* the server answers within a second, so that it notices a dead client */
    if (__atomic_load_n(&j->cancelled, __ATOMIC_ACQUIRE)) {
        if (j->release) /* the call that made it failed, and said so */
            j->release(j->data);
        return;
    }
    if (r != CUDA_SUCCESS) {
        /* The stream will not get there (its work failed): CUDA does not run it. */
        RM_DEBUG("host function %p not run: its stream failed (%d)", (void *)j->fn, (int)r);
        if (j->not_run)
            j->not_run(j->data, r);
        return;
    }
    if (wout.outcome == RM_GATE_CAPTURED) { /* into a graph: it runs when the graph does */
        keep_recurring(j->gate, j->fn, j->data, j->srv);
        return;
    }
    if (wout.outcome == RM_GATE_REFUSED) { /* the call failed, and says so: never run */
        if (j->release)
            j->release(j->data);
        return;
    }
    j->fn(j->data);
    rm_host_func_done_req_t din = {.gate = j->gate};
    rm_host_func_done_rep_t dout;
    if ((r = rm_call_host_func_done(&din, &dout)) != CUDA_SUCCESS)
        RM_WARN("host function %p ran but its stream could not be resumed (%d)", (void *)j->fn, (int)r);
}

static void *pool_main(void *unused)
{
    pthread_mutex_lock(&pool_lock);
    for (;;) {
        while (!queue_head)
            pthread_cond_wait(&pool_work, &pool_lock);
        job_t *j = queue_head;
        if (!(queue_head = j->next))
            queue_tail = &queue_head;
        idle_threads--, queued--;
        pthread_mutex_unlock(&pool_lock);
        int before = rm_route_pin(j->srv);
        run_job(j);
        rm_route_unpin(before);
        finished(j);
        pthread_mutex_lock(&pool_lock);
        idle_threads++;
    }
    return NULL;
}

/* Queue j; start a thread unless an idle one is left for it (each queued
 * job has one of its own coming). */
static CUresult submit(job_t *j)
{
    CUresult r = CUDA_SUCCESS;
    pthread_mutex_lock(&pool_lock);
    if (queued >= idle_threads) {
        if (rm_thread_detached(pool_main, NULL) == 0)
            idle_threads++;
        else
            r = CUDA_ERROR_OUT_OF_MEMORY;
    }
    if (r == CUDA_SUCCESS) {
        *queue_tail = j;
        queue_tail = &j->next;
        queued++;
        j->active = active_head;
        __atomic_store_n(&active_head, j, __ATOMIC_RELEASE);
        pthread_cond_signal(&pool_work);
    }
    pthread_mutex_unlock(&pool_lock);
    return r;
}

/* A forked child has none of the parent's threads or pending functions. */
static void after_fork_child(void)
{
    pthread_mutex_init(&pool_lock, NULL);
    pthread_cond_init(&pool_work, NULL);
    pthread_cond_init(&job_finished, NULL);
    pthread_cond_init(&recurring_added, NULL);
    queue_head = NULL, queue_tail = &queue_head;
    active_head = NULL;
    idle_threads = queued = 0;
    recurring_head = NULL; /* leaked: the parent's graphs are not the child's */
    runs_threads = 0;
}

__attribute__((constructor)) static void install_fork_handler(void)
{
    pthread_atfork(NULL, NULL, after_fork_child);
}

static job_t *new_job(uint64_t gate, CUstream stream, CUhostFn fn, void *data, int srv)
{
    job_t *j = calloc(1, sizeof *j);
    if (j)
        j->gate = gate, j->stream = stream, j->fn = fn, j->data = data, j->srv = srv;
    return j;
}

/* The recurring function of key (waiting until it is known: a captured
 * one is kept once its capture is answered, which a run cannot precede). */
static recurring_t *recurring_of(uint64_t key)
{
    pthread_mutex_lock(&pool_lock);
    recurring_t *r;
    for (;;) {
        for (r = recurring_head; r && r->key != key; r = r->next)
            ;
        if (r)
            break;
        pthread_cond_wait(&recurring_added, &pool_lock);
    }
    pthread_mutex_unlock(&pool_lock);
    return r;
}

/* Hands each run of a recurring function that server srv says is due to
 * the pool. */
static void *runs_main(void *arg)
{
    int srv = (int)(intptr_t)arg;
    rm_route_pin(srv);
    for (;;) {
        rm_host_node_next_req_t in = {0};
        rm_host_node_next_rep_t out;
        CUresult r = rm_call_host_node_next(&in, &out);
        if (r == CUDA_ERROR_NOT_READY)
            continue;
        if (r != CUDA_SUCCESS) {
            RM_WARN("graph host functions: the server stopped announcing their runs (%d)", (int)r);
            return NULL;
        }
        const recurring_t *rec = recurring_of(out.key);
        job_t *j = new_job(out.gate, NULL, rec->fn, rec->data, srv);
        if (!j || submit(j) != CUDA_SUCCESS) {
            RM_ERROR("out of memory: a graph's host function cannot run, its graph waits");
            free(j);
        }
    }
    return NULL;
}

/* Server srv will announce runs of recurring functions; with pool_lock. */
static CUresult runs_thread_for(int srv)
{
    if (runs_threads & (1u << srv))
        return CUDA_SUCCESS;
    if (rm_thread_detached(runs_main, (void *)(intptr_t)srv) != 0)
        return CUDA_ERROR_OUT_OF_MEMORY;
    runs_threads |= 1u << srv;
    return CUDA_SUCCESS;
}

/* Keep (fn, data) under key, to run when server srv says; with pool_lock. */
static CUresult keep_locked(uint64_t key, CUhostFn fn, void *data, int srv)
{
    recurring_t *r = malloc(sizeof *r);
    if (!r)
        return CUDA_ERROR_OUT_OF_MEMORY;
    if (runs_thread_for(srv) != CUDA_SUCCESS) {
        free(r);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    *r = (recurring_t){key, fn, data, recurring_head};
    recurring_head = r;
    pthread_cond_broadcast(&recurring_added);
    return CUDA_SUCCESS;
}

static void keep_recurring(uint64_t key, CUhostFn fn, void *data, int srv)
{
    pthread_mutex_lock(&pool_lock);
    if (keep_locked(key, fn, data, srv) != CUDA_SUCCESS)
        RM_ERROR("out of memory: a captured host function will not run, its graph waits");
    pthread_mutex_unlock(&pool_lock);
}

/* The key of (fn, data) as a host node of a graph on server srv: the same
 * for the same pair. */
static CUresult recurring_key(CUhostFn fn, void *data, int srv, uint64_t *key)
{
    CUresult r = CUDA_SUCCESS;
    pthread_mutex_lock(&pool_lock);
    const recurring_t *k = recurring_head;
    while (k && !(k->fn == fn && k->data == data))
        k = k->next;
    if (k) {
        *key = k->key;
        r = runs_thread_for(srv);
    } else if ((r = keep_locked(*key = __atomic_add_fetch(&next_gate, 1, __ATOMIC_RELAXED), fn, data, srv)) !=
               CUDA_SUCCESS) {
        *key = 0;
    }
    pthread_mutex_unlock(&pool_lock);
    return r;
}

CUresult CUDAAPI RM_IMPL(cuGraphAddHostNode)(CUgraphNode *ph, CUgraph g, const CUgraphNode *deps, size_t n,
                                             const CUDA_HOST_NODE_PARAMS *p)
{
    uint64_t ids[RM_MAX_GNODES], key;
    CUresult r = ph && p && p->fn ? rm_cl_gnodes(deps, n, ids) : CUDA_ERROR_INVALID_VALUE;
    if (r == CUDA_SUCCESS)
        r = recurring_key(p->fn, p->userData, rm_route_handle((uint64_t)(uintptr_t)g), &key);
    if (r != CUDA_SUCCESS)
        return r;
    rm_graph_add_host_node_req_t in = {(uint64_t)(uintptr_t)g, ids, (uint32_t)(n * sizeof ids[0]), key};
    rm_graph_add_host_node_rep_t out = {0};
    if ((r = rm_call_graph_add_host_node(&in, &out)) == CUDA_SUCCESS)
        *ph = (CUgraphNode)(uintptr_t)out.node;
    return r;
}

/* The job is queued (its thread exists) before the gate is sent: a gate
 * that cannot be sent cancels it, so no thread waits for it forever. data
 * belongs to the job once it is queued (also when the gate then fails). */
static CUresult launch(CUstream stream, CUhostFn fn, void *data, void (*not_run)(void *, CUresult),
                       void (*release)(void *))
{
    if (!fn)
        return CUDA_ERROR_INVALID_VALUE;
    job_t *j = new_job(__atomic_add_fetch(&next_gate, 1, __ATOMIC_RELAXED), stream, fn, data,
                       rm_route_handle((uint64_t)(uintptr_t)stream));
    if (!j)
        return CUDA_ERROR_OUT_OF_MEMORY;
    j->not_run = not_run, j->release = release;
    CUresult r = submit(j);
    if (r != CUDA_SUCCESS) {
        if (release)
            release(data);
        free(j);
        return r;
    }
    rm_host_func_req_t in = {.stream = (uint64_t)(uintptr_t)stream, .gate = j->gate, .callback = not_run != NULL};
    if ((r = rm_call_host_func(&in)) != CUDA_SUCCESS)
        __atomic_store_n(&j->cancelled, 1, __ATOMIC_RELEASE); /* its thread frees it */
    return r;
}

CUresult CUDAAPI RM_IMPL(cuLaunchHostFunc)(CUstream stream, CUhostFn fn, void *data)
{
    return launch(stream, fn, data, NULL, NULL);
}

/* cuStreamAddCallback: a host function that is also told its stream and
 * status; after failed work it is called with the error. */
typedef struct {
    CUstream stream;
    CUstreamCallback cb;
    void *data;
} callback_t;

static void run_callback(void *p)
{
    callback_t c = *(callback_t *)p;
    free(p);
    c.cb(c.stream, CUDA_SUCCESS, c.data);
}

static void callback_failed(void *p, CUresult why)
{
    callback_t c = *(callback_t *)p;
    free(p);
    c.cb(c.stream, why, c.data);
}

CUresult CUDAAPI RM_IMPL(cuStreamAddCallback)(CUstream stream, CUstreamCallback cb, void *data, unsigned int flags)
{
    if (!cb || flags != 0)
        return CUDA_ERROR_INVALID_VALUE;
    callback_t *c = malloc(sizeof *c);
    if (!c)
        return CUDA_ERROR_OUT_OF_MEMORY;
    *c = (callback_t){stream, cb, data};
    return launch(stream, run_callback, c, callback_failed, free);
}
