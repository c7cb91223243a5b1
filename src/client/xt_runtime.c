/* Client: the export-table entries NVIDIA's cudart calls at start-up, all
 * answered here (layouts and meanings measured with tools/driver-probe on
 * driver 580, notes/dark-api.md):
 *  - tools callback hooks: two buffers the runtime reads tool (CUPTI)
 *    subscriptions from; remora has no tools attached, so they stay zero;
 *  - context checks: nothing to report for remora's contexts;
 *  - context-local storage: the runtime's per-context state, keyed by
 *    (context, key), with a destructor to run when the context goes away;
 *  - the runtime's error messages, logged at debug level;
 *  - the integrity check, over the addresses of remora's own tables. */
#include <cuda.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctx_current.h"
#include "cudart_check.h"
#include "device.h"
#include "log.h"
#include "xt.h"

/* ---- tools callback hooks ---- */

/* The sizes driver 580 reports (1024 and 14; the runtime refuses to start
 * with a first one of 512). Each is backed by 8 bytes per unit, whatever
 * the unit is. */
#define HOOKS_A_SIZE 1024
#define HOOKS_B_SIZE 14
static uint64_t hooks_a[HOOKS_A_SIZE];
static uint64_t hooks_b[HOOKS_B_SIZE];

void rm_xt_hooks_buffer_a(void **ptr, size_t *size)
{
    if (ptr)
        *ptr = hooks_a;
    if (size)
        *size = HOOKS_A_SIZE;
}

void rm_xt_hooks_buffer_b(void **ptr, size_t *size)
{
    if (ptr)
        *ptr = hooks_b;
    if (size)
        *size = HOOKS_B_SIZE;
}

/* ---- the runtime's messages ---- */

CUresult rm_xt_runtime_log(const char *component, int flags, const char *format, va_list ap)
{
    char line[512];
    if (!format)
        return CUDA_ERROR_INVALID_VALUE;
    va_list copy;
    va_copy(copy, ap);
    vsnprintf(line, sizeof line, format, copy);
    va_end(copy);
    RM_DEBUG("%s: %s", component ? component : "runtime", line);
    return CUDA_SUCCESS;
}

/* ---- context checks ---- */

CUresult rm_xt_context_check(CUcontext ctx, uint32_t *flags, const void **detail)
{
    if (flags)
        *flags = 0;
    if (detail)
        *detail = NULL;
    return CUDA_SUCCESS;
}

CUresult rm_xt_runtime_check(void *state, size_t size) { return CUDA_SUCCESS; }

/* ---- context-local storage ---- */

typedef void (*rm_cls_dtor_cb)(CUcontext ctx, void *key, void *value);

typedef struct cls_entry {
    uint64_t ctx;
    void *key, *value;
    rm_cls_dtor_cb dtor;
    struct cls_entry *next;
} cls_entry_t;

static pthread_mutex_t cls_lock = PTHREAD_MUTEX_INITIALIZER;
static cls_entry_t *cls_head;

/* ctx NULL means the calling thread's current context. */
static uint64_t cls_ctx(CUcontext ctx)
{
    return (uint64_t)(uintptr_t)(ctx ? ctx : rm_ctx_current());
}

static cls_entry_t **cls_slot(uint64_t ctx, void *key)
{
    cls_entry_t **p = &cls_head;
    while (*p && !((*p)->ctx == ctx && (*p)->key == key))
        p = &(*p)->next;
    return p;
}

CUresult rm_xt_cls_put(CUcontext ctx, void *key, void *value, rm_cls_dtor_cb dtor)
{
    uint64_t c = cls_ctx(ctx);
    if (!c)
        return CUDA_ERROR_INVALID_CONTEXT;
    pthread_mutex_lock(&cls_lock);
    cls_entry_t **p = cls_slot(c, key), *e = *p;
    if (!e && (e = calloc(1, sizeof *e)) != NULL) {
        e->ctx = c, e->key = key;
        *p = e;
    }
    if (e)
        e->value = value, e->dtor = dtor;
    pthread_mutex_unlock(&cls_lock);
    return e ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

CUresult rm_xt_cls_delete(CUcontext ctx, void *key)
{
    uint64_t c = cls_ctx(ctx);
    pthread_mutex_lock(&cls_lock);
    cls_entry_t **p = cls_slot(c, key), *e = *p;
    if (e)
        *p = e->next;
    pthread_mutex_unlock(&cls_lock);
    free(e);
    return e ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

CUresult rm_xt_cls_get(void **value, CUcontext ctx, void *key)
{
    if (!value)
        return CUDA_ERROR_INVALID_VALUE;
    uint64_t c = cls_ctx(ctx);
    pthread_mutex_lock(&cls_lock);
    cls_entry_t *e = *cls_slot(c, key);
    *value = e ? e->value : NULL;
    pthread_mutex_unlock(&cls_lock);
    return e ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT; /* as the driver answers */
}

int rm_xt_cls_in_use(void) { return __atomic_load_n(&cls_head, __ATOMIC_ACQUIRE) != NULL; }

void rm_xt_cls_context_gone(uint64_t ctx)
{
    for (;;) {
        pthread_mutex_lock(&cls_lock);
        cls_entry_t **p = &cls_head;
        while (*p && (*p)->ctx != ctx)
            p = &(*p)->next;
        cls_entry_t *e = *p;
        if (e)
            *p = e->next;
        pthread_mutex_unlock(&cls_lock);
        if (!e)
            return;
        /* Outside the lock: the destructor may use the storage again. */
        if (e->dtor)
            e->dtor((CUcontext)(uintptr_t)ctx, e->key, e->value);
        free(e);
    }
}

static void cls_after_fork_child(void)
{
    pthread_mutex_init(&cls_lock, NULL);
    cls_head = NULL; /* the parent's contexts are not the child's (leaked, as the parent owns them) */
}

__attribute__((constructor)) static void cls_install_fork_handler(void)
{
    pthread_atfork(NULL, NULL, cls_after_fork_child);
}

/* ---- the integrity check ---- */

#define CHECK_MAX_DEVICES 64

CUresult rm_xt_integrity_check(uint32_t rt_version, uint64_t timestamp, uint8_t out[16])
{
    if (!out)
        return CUDA_ERROR_INVALID_VALUE;
    int version = 0, n = 0;
    CUresult r = cuDriverGetVersion(&version);
    if (r == CUDA_SUCCESS && (r = cuDeviceGetCount(&n)) != CUDA_SUCCESS)
        n = 0; /* before cuInit: no devices enter the answer */
    if (n > CHECK_MAX_DEVICES)
        n = CHECK_MAX_DEVICES;
    rm_check_device_t devs[CHECK_MAX_DEVICES];
    for (int i = 0; i < n; i++) {
        const rm_device_info_t *d = rm_cl_device(i);
        memcpy(devs[i].uuid, d->uuid, 16);
        devs[i].pci_domain = (uint32_t)d->attrs[CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID];
        devs[i].pci_bus = (uint32_t)d->attrs[CU_DEVICE_ATTRIBUTE_PCI_BUS_ID];
        devs[i].pci_device = (uint32_t)d->attrs[CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID];
    }
    const rm_xt_table_t *cudart = rm_xt_named("cudart_interface"), *check = rm_xt_named("integrity_check");
    rm_check_input_t in = {
        .driver_version = (uint32_t)version,
        .rt_version = rt_version,
        .pid = (uint32_t)getpid(),
        .tid = (uint32_t)(uintptr_t)pthread_self(),
        .cudart_table = (uint64_t)(uintptr_t)cudart->entries,
        .check_table = (uint64_t)(uintptr_t)check->entries,
        .check_fn = (uint64_t)(uintptr_t)check->entries[1],
        .timestamp = timestamp,
        .devices = devs,
        .ndevices = (uint32_t)n,
    };
    rm_cudart_check_answer(&in, out);
    return CUDA_SUCCESS;
}
