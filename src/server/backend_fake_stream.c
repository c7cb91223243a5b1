/* Fake backend, streams and events. Every fake operation completes before its
 * call returns, so a stream is in order by construction: queries answer
 * CUDA_SUCCESS and waits return at once. An event keeps the CLOCK_MONOTONIC
 * time of its last record, which is what cuEventElapsedTime measures.
 */
#include "backend_fake.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct CUstream_st {
    rm_fake_owned_t own;
    unsigned flags;
    int priority;
    unsigned long long id;         /* cuStreamGetId */
    CUgraph capture;               /* being captured into, or NULL */
    unsigned long long capture_id; /* of the current or last capture */
    bool capture_invalid;          /* an unsupported call broke the capture */
};

static unsigned long long fake_next_capture_id;

/* Ids of the legacy and per-thread default streams; created ones come after. */
#define FAKE_LEGACY_STREAM_ID 1ull
#define FAKE_PER_THREAD_STREAM_ID 2ull
#define FAKE_FIRST_STREAM_ID 16ull

struct CUevent_st {
    rm_fake_owned_t own;
    unsigned flags;
    bool recorded;
    uint64_t ns; /* CLOCK_MONOTONIC at the last record */
};

static bool fake_stream_special(CUstream s)
{
    return s == NULL || s == CU_STREAM_LEGACY || s == CU_STREAM_PER_THREAD;
}

CUresult rm_fake_stream_check(CUstream s)
{
    CUcontext ctx;
    if (fake_stream_special(s))
        return rm_fake_current(&ctx);
    return rm_fake_set_has(&rm_fake_state.streams, s) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

void rm_fake_stream_release_ctx(CUcontext ctx)
{
    rm_fake_set_free_owned(&rm_fake_state.streams, ctx);
    rm_fake_set_free_owned(&rm_fake_state.events, ctx);
}

/* Enter for a call on an existing object: initialised and h live in set. */
static CUresult fake_enter_obj(const rm_fake_set_t *set, const void *h)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && !rm_fake_set_has(set, h))
        rc = CUDA_ERROR_INVALID_HANDLE;
    return rc;
}

/* Allocates an owned object of size bytes in the current context and adds it
 * to set; *out is the new object. */
static CUresult fake_create_owned(rm_fake_set_t *set, size_t size, void **out)
{
    CUcontext ctx;
    CUresult rc = rm_fake_current(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    rm_fake_owned_t *o = calloc(1, size);
    if (!o || !rm_fake_set_add(set, o)) {
        free(o);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    o->ctx = ctx;
    *out = o;
    return CUDA_SUCCESS;
}

static CUresult fake_destroy_owned(rm_fake_set_t *set, void *h)
{
    CUresult rc = fake_enter_obj(set, h);
    if (rc == CUDA_SUCCESS) {
        rm_fake_set_del(set, h);
        free(h);
    }
    return rm_fake_leave(rc);
}

/* ---- streams ---- */

/* Priorities out of range are clamped, as the driver does; with nothing
 * running concurrently they are only remembered. */
static CUresult fake_cuStreamCreateWithPriority(CUstream *phStream, unsigned int flags,
                                                int priority)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && (!phStream || (flags & ~(unsigned)CU_STREAM_NON_BLOCKING)))
        rc = CUDA_ERROR_INVALID_VALUE;
    void *o = NULL;
    if (rc == CUDA_SUCCESS)
        rc = fake_create_owned(&rm_fake_state.streams, sizeof(struct CUstream_st), &o);
    if (rc == CUDA_SUCCESS) {
        CUstream s = o;
        s->flags = flags;
        s->id = ++rm_fake_state.next_object_id + FAKE_FIRST_STREAM_ID;
        s->priority = priority < RM_FAKE_PRIORITY_GREATEST ? RM_FAKE_PRIORITY_GREATEST
                      : priority > RM_FAKE_PRIORITY_LEAST  ? RM_FAKE_PRIORITY_LEAST
                                                           : priority;
        *phStream = s;
    }
    return rm_fake_leave(rc);
}

static CUresult fake_cuStreamCreate(CUstream *phStream, unsigned int flags)
{
    return fake_cuStreamCreateWithPriority(phStream, flags, 0);
}

static CUresult fake_cuStreamDestroy_v2(CUstream hStream)
{
    return fake_destroy_owned(&rm_fake_state.streams, hStream);
}

CUgraph rm_fake_stream_capture(CUstream s)
{
    return fake_stream_special(s) || s->capture_invalid ? NULL : s->capture;
}

/* Waiting for a stream that is being captured is not allowed, and ends the
 * capture as invalidated, as in CUDA. */
static CUresult fake_stream_wait(CUstream hStream)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS)
        rc = rm_fake_stream_check(hStream);
    if (rc == CUDA_SUCCESS && !fake_stream_special(hStream) && hStream->capture) {
        hStream->capture_invalid = true;
        rc = CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
    }
    return rm_fake_leave(rc);
}

/* Captures are taken on streams the program created. */
static CUresult fake_enter_capture_stream(CUstream s)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && fake_stream_special(s))
        rc = CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
    else if (rc == CUDA_SUCCESS)
        rc = rm_fake_stream_check(s);
    return rc;
}

static CUresult fake_cuStreamBeginCapture_v2(CUstream s, CUstreamCaptureMode mode)
{
    CUresult rc = fake_enter_capture_stream(s);
    if (rc == CUDA_SUCCESS && (unsigned)mode > CU_STREAM_CAPTURE_MODE_RELAXED)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS && s->capture)
        rc = CUDA_ERROR_ILLEGAL_STATE;
    if (rc == CUDA_SUCCESS && !(s->capture = rm_fake_graph_new()))
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    if (rc == CUDA_SUCCESS) {
        s->capture_id = ++fake_next_capture_id;
        s->capture_invalid = false;
    }
    return rm_fake_leave(rc);
}

static CUresult fake_cuStreamEndCapture(CUstream s, CUgraph *phGraph)
{
    CUresult rc = fake_enter_capture_stream(s);
    if (rc == CUDA_SUCCESS && !phGraph)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS && !s->capture)
        rc = CUDA_ERROR_ILLEGAL_STATE;
    if (rc != CUDA_SUCCESS)
        return rm_fake_leave(rc);
    CUgraph g = s->capture;
    s->capture = NULL;
    if (s->capture_invalid) {
        s->capture_invalid = false;
        rm_fake_graph_free(g);
        return rm_fake_leave(CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
    }
    *phGraph = g;
    return rm_fake_leave(CUDA_SUCCESS);
}

static CUstreamCaptureStatus fake_capture_status(CUstream s)
{
    if (fake_stream_special(s) || !s->capture)
        return CU_STREAM_CAPTURE_STATUS_NONE;
    return s->capture_invalid ? CU_STREAM_CAPTURE_STATUS_INVALIDATED : CU_STREAM_CAPTURE_STATUS_ACTIVE;
}

static CUresult fake_cuStreamIsCapturing(CUstream s, CUstreamCaptureStatus *status)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && !status)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        rc = rm_fake_stream_check(s);
    if (rc == CUDA_SUCCESS)
        *status = fake_capture_status(s);
    return rm_fake_leave(rc);
}

/* The calling thread's capture mode: kept, not enforced by fake captures. */
static __thread CUstreamCaptureMode capture_mode = CU_STREAM_CAPTURE_MODE_GLOBAL;

static CUresult fake_cuThreadExchangeStreamCaptureMode(CUstreamCaptureMode *mode)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && (!mode || (unsigned)*mode > CU_STREAM_CAPTURE_MODE_RELAXED))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS) {
        CUstreamCaptureMode previous = capture_mode;
        capture_mode = *mode;
        *mode = previous;
    }
    return rm_fake_leave(rc);
}

/* The open dependencies of a fake capture are not tracked: none. */
static CUresult fake_cuStreamGetCaptureInfo_v3(CUstream s, CUstreamCaptureStatus *status, cuuint64_t *id,
                                               CUgraph *graph, const CUgraphNode **deps,
                                               const CUgraphEdgeData **edges, size_t *ndeps)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && !status)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        rc = rm_fake_stream_check(s);
    if (rc == CUDA_SUCCESS) {
        *status = fake_capture_status(s);
        bool active = *status != CU_STREAM_CAPTURE_STATUS_NONE;
        if (id)
            *id = active ? s->capture_id : 0;
        if (graph)
            *graph = active ? s->capture : NULL;
        if (deps)
            *deps = NULL;
        if (edges)
            *edges = NULL;
        if (ndeps)
            *ndeps = 0;
    }
    return rm_fake_leave(rc);
}

static CUresult fake_cuStreamSynchronize(CUstream hStream) { return fake_stream_wait(hStream); }

static CUresult fake_cuStreamQuery(CUstream hStream) { return fake_stream_wait(hStream); }

/* Enter for a query on a stream: out non-NULL and the stream usable. The
 * default streams have flags 0 and the least priority. */
static CUresult fake_enter_stream_query(CUstream s, const void *out)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && !out)
        rc = CUDA_ERROR_INVALID_VALUE;
    return rc == CUDA_SUCCESS ? rm_fake_stream_check(s) : rc;
}

static CUresult fake_cuStreamGetPriority(CUstream hStream, int *priority)
{
    CUresult rc = fake_enter_stream_query(hStream, priority);
    if (rc == CUDA_SUCCESS)
        *priority = fake_stream_special(hStream) ? RM_FAKE_PRIORITY_LEAST : hStream->priority;
    return rm_fake_leave(rc);
}

static CUresult fake_cuStreamGetFlags(CUstream hStream, unsigned int *flags)
{
    CUresult rc = fake_enter_stream_query(hStream, flags);
    if (rc == CUDA_SUCCESS)
        *flags = fake_stream_special(hStream) ? CU_STREAM_DEFAULT : hStream->flags;
    return rm_fake_leave(rc);
}

/* Like every fake operation, the function runs before the call returns (on
 * the calling thread, outside the backend's lock: it may block); on a
 * stream being captured it becomes a host node. */
static CUresult fake_cuLaunchHostFunc(CUstream hStream, CUhostFn fn, void *userData)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS)
        rc = rm_fake_stream_check(hStream);
    if (rc == CUDA_SUCCESS && !fn)
        rc = CUDA_ERROR_INVALID_VALUE;
    CUgraph g = rc == CUDA_SUCCESS ? rm_fake_stream_capture(hStream) : NULL;
    if (g)
        return rm_fake_leave(rm_fake_record_host(g, fn, userData, NULL));
    rm_fake_leave(rc);
    if (rc == CUDA_SUCCESS)
        fn(userData);
    return rc;
}

static CUresult fake_cuStreamGetId(CUstream s, unsigned long long *id)
{
    CUresult rc = fake_enter_stream_query(s, id);
    if (rc == CUDA_SUCCESS)
        *id = s == CU_STREAM_PER_THREAD ? FAKE_PER_THREAD_STREAM_ID
              : fake_stream_special(s)  ? FAKE_LEGACY_STREAM_ID
                                        : s->id;
    return rm_fake_leave(rc);
}

/* The context a stream belongs to (the current one for the default streams). */
static CUresult fake_stream_ctx(CUstream s, CUcontext *ctx)
{
    CUresult rc = fake_enter_stream_query(s, ctx);
    if (rc == CUDA_SUCCESS && fake_stream_special(s))
        rc = rm_fake_current(ctx);
    else if (rc == CUDA_SUCCESS)
        *ctx = s->own.ctx;
    return rc;
}

static CUresult fake_cuStreamGetCtx(CUstream s, CUcontext *pctx) { return rm_fake_leave(fake_stream_ctx(s, pctx)); }

static CUresult fake_cuStreamGetDevice(CUstream s, CUdevice *dev)
{
    CUcontext ctx;
    CUresult rc = dev ? fake_stream_ctx(s, &ctx) : (rm_fake_enter(), CUDA_ERROR_INVALID_VALUE);
    if (rc == CUDA_SUCCESS)
        *dev = ctx->device;
    return rm_fake_leave(rc);
}

/* Stream memory operations. A write happens at once, like every fake
 * operation; a wait must already be satisfied when it is queued (nothing
 * else can run while it waits), else it fails rather than hang. */
static CUresult fake_value_op(CUstream s, CUdeviceptr addr, uint64_t value, unsigned flags, unsigned bits, bool write)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS)
        rc = rm_fake_stream_check(s);
    if (rc == CUDA_SUCCESS && (addr % (bits / 8) || !rm_fake_range_covers(addr, bits / 8)))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc != CUDA_SUCCESS)
        return rm_fake_leave(rc);
    uint64_t cur = 0;
    if (write && bits == 32) {
        uint32_t v = (uint32_t)value;
        memcpy((void *)(uintptr_t)addr, &v, 4);
    } else if (write) {
        memcpy((void *)(uintptr_t)addr, &value, 8);
    } else {
        memcpy(&cur, (void *)(uintptr_t)addr, bits / 8);
        bool met;
        switch (flags & 0x7) {
        case CU_STREAM_WAIT_VALUE_GEQ: met = bits == 32 ? (int32_t)((uint32_t)cur - (uint32_t)value) >= 0 : (int64_t)(cur - value) >= 0; break;
        case CU_STREAM_WAIT_VALUE_EQ: met = cur == (bits == 32 ? (uint32_t)value : value); break;
        case CU_STREAM_WAIT_VALUE_AND: met = (cur & value) != 0; break;
        case CU_STREAM_WAIT_VALUE_NOR: met = ~(cur | value) & (bits == 32 ? 0xffffffffull : ~0ull); break;
        default: met = false; rc = CUDA_ERROR_INVALID_VALUE;
        }
        if (rc == CUDA_SUCCESS && !met)
            rc = CUDA_ERROR_NOT_SUPPORTED;
    }
    return rm_fake_leave(rc);
}

static CUresult fake_cuStreamWriteValue32_v2(CUstream s, CUdeviceptr a, cuuint32_t v, unsigned int f)
{
    return fake_value_op(s, a, v, f, 32, true);
}

static CUresult fake_cuStreamWriteValue64_v2(CUstream s, CUdeviceptr a, cuuint64_t v, unsigned int f)
{
    return fake_value_op(s, a, v, f, 64, true);
}

static CUresult fake_cuStreamWaitValue32_v2(CUstream s, CUdeviceptr a, cuuint32_t v, unsigned int f)
{
    return fake_value_op(s, a, v, f, 32, false);
}

static CUresult fake_cuStreamWaitValue64_v2(CUstream s, CUdeviceptr a, cuuint64_t v, unsigned int f)
{
    return fake_value_op(s, a, v, f, 64, false);
}

static CUresult fake_cuStreamWaitEvent(CUstream hStream, CUevent hEvent, unsigned int Flags)
{
    CUresult rc = fake_enter_obj(&rm_fake_state.events, hEvent);
    if (rc == CUDA_SUCCESS)
        rc = rm_fake_stream_check(hStream);
    if (rc == CUDA_SUCCESS && (Flags & ~(unsigned)CU_EVENT_WAIT_EXTERNAL))
        rc = CUDA_ERROR_INVALID_VALUE;
    return rm_fake_leave(rc);
}

/* ---- events ---- */

static CUresult fake_cuEventCreate(CUevent *phEvent, unsigned int Flags)
{
    const unsigned known = CU_EVENT_BLOCKING_SYNC | CU_EVENT_DISABLE_TIMING | CU_EVENT_INTERPROCESS;
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS &&
        (!phEvent || (Flags & ~known) ||
         ((Flags & CU_EVENT_INTERPROCESS) && !(Flags & CU_EVENT_DISABLE_TIMING))))
        rc = CUDA_ERROR_INVALID_VALUE;
    void *o = NULL;
    if (rc == CUDA_SUCCESS)
        rc = fake_create_owned(&rm_fake_state.events, sizeof(struct CUevent_st), &o);
    if (rc == CUDA_SUCCESS) {
        CUevent e = o;
        e->flags = Flags;
        *phEvent = e;
    }
    return rm_fake_leave(rc);
}

static CUresult fake_cuEventDestroy_v2(CUevent hEvent)
{
    return fake_destroy_owned(&rm_fake_state.events, hEvent);
}

static void fake_event_stamp(CUevent e)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    e->ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    e->recorded = true;
}

static CUresult fake_cuEventRecordWithFlags(CUevent hEvent, CUstream hStream, unsigned int flags)
{
    CUresult rc = fake_enter_obj(&rm_fake_state.events, hEvent);
    if (rc == CUDA_SUCCESS)
        rc = rm_fake_stream_check(hStream);
    if (rc == CUDA_SUCCESS && (flags & ~(unsigned)CU_EVENT_RECORD_EXTERNAL))
        rc = CUDA_ERROR_INVALID_VALUE;
    CUgraph g = rc == CUDA_SUCCESS ? rm_fake_stream_capture(hStream) : NULL;
    if (g)
        rc = rm_fake_record_event(g, hEvent, NULL);
    else if (rc == CUDA_SUCCESS)
        fake_event_stamp(hEvent);
    return rm_fake_leave(rc);
}

CUresult rm_fake_event_stamp(CUevent e)
{
    CUresult rc = fake_enter_obj(&rm_fake_state.events, e);
    if (rc == CUDA_SUCCESS)
        fake_event_stamp(e);
    return rm_fake_leave(rc);
}

static CUresult fake_cuEventRecord(CUevent hEvent, CUstream hStream)
{
    return fake_cuEventRecordWithFlags(hEvent, hStream, CU_EVENT_RECORD_DEFAULT);
}

/* Recorded or not, an event is complete: the work before it has run. */
static CUresult fake_event_wait(CUevent hEvent)
{
    return rm_fake_leave(fake_enter_obj(&rm_fake_state.events, hEvent));
}

static CUresult fake_cuEventSynchronize(CUevent hEvent) { return fake_event_wait(hEvent); }

static CUresult fake_cuEventQuery(CUevent hEvent) { return fake_event_wait(hEvent); }

static bool fake_event_timed(CUevent e)
{
    return rm_fake_set_has(&rm_fake_state.events, e) && e->recorded &&
           !(e->flags & CU_EVENT_DISABLE_TIMING);
}

/* A NULL pMilliseconds is CUDA_ERROR_INVALID_HANDLE, as from the driver. */
static CUresult fake_cuEventElapsedTime_v2(float *pMilliseconds, CUevent hStart, CUevent hEnd)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS &&
        (!pMilliseconds || !fake_event_timed(hStart) || !fake_event_timed(hEnd)))
        rc = CUDA_ERROR_INVALID_HANDLE;
    if (rc == CUDA_SUCCESS)
        *pMilliseconds = (float)(((double)hEnd->ns - (double)hStart->ns) / 1e6);
    return rm_fake_leave(rc);
}

void rm_fake_fill_stream(rm_backend_t *out)
{
    out->cuStreamCreate = fake_cuStreamCreate;
    out->cuStreamCreateWithPriority = fake_cuStreamCreateWithPriority;
    out->cuStreamDestroy_v2 = fake_cuStreamDestroy_v2;
    out->cuStreamSynchronize = fake_cuStreamSynchronize;
    out->cuStreamQuery = fake_cuStreamQuery;
    out->cuStreamWaitEvent = fake_cuStreamWaitEvent;
    out->cuStreamWriteValue32_v2 = fake_cuStreamWriteValue32_v2;
    out->cuStreamWriteValue64_v2 = fake_cuStreamWriteValue64_v2;
    out->cuStreamWaitValue32_v2 = fake_cuStreamWaitValue32_v2;
    out->cuStreamWaitValue64_v2 = fake_cuStreamWaitValue64_v2;
    out->cuStreamGetPriority = fake_cuStreamGetPriority;
    out->cuStreamGetFlags = fake_cuStreamGetFlags;
    out->cuStreamGetId = fake_cuStreamGetId;
    out->cuStreamGetCtx = fake_cuStreamGetCtx;
    out->cuStreamGetDevice = fake_cuStreamGetDevice;
    out->cuLaunchHostFunc = fake_cuLaunchHostFunc;
    out->cuStreamBeginCapture_v2 = fake_cuStreamBeginCapture_v2;
    out->cuStreamEndCapture = fake_cuStreamEndCapture;
    out->cuStreamIsCapturing = fake_cuStreamIsCapturing;
    out->cuStreamGetCaptureInfo_v3 = fake_cuStreamGetCaptureInfo_v3;
    out->cuThreadExchangeStreamCaptureMode = fake_cuThreadExchangeStreamCaptureMode;
    out->cuEventCreate = fake_cuEventCreate;
    out->cuEventDestroy_v2 = fake_cuEventDestroy_v2;
    out->cuEventRecord = fake_cuEventRecord;
    out->cuEventRecordWithFlags = fake_cuEventRecordWithFlags;
    out->cuEventSynchronize = fake_cuEventSynchronize;
    out->cuEventQuery = fake_cuEventQuery;
    out->cuEventElapsedTime_v2 = fake_cuEventElapsedTime_v2;
}
