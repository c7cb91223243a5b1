/* Client: cuInit, versions and device queries, answered from the cache
 * filled at cuInit (one round trip per device, once). With several servers
 * (REMORA_SERVER=a,b) their devices form one list, in order: the ordinals
 * the program sees map to (server, the server's own ordinal). */
#include "device.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "log.h"
#include "computeshare.h"
#include "memlimit.h"
#include "route.h"
#include "rm_stubs.h"
#include "session.h"

#define MAX_DEVICES 64

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static int initialized;
static int driver_version;
static int device_count;
static rm_device_info_t *devices;
static struct {
    int srv, local;
} device_map[MAX_DEVICES];

/* Lets remora-server refuse to load this library as "the real driver". */
RM_EXPORT const char rm_client_marker[] = "remora client libcuda";

/* A forked child is a new client: it must cuInit its own session. */
static void after_fork_child(void)
{
    pthread_mutex_init(&init_lock, NULL);
    initialized = 0;
}

__attribute__((constructor)) static void install_fork_handler(void)
{
    pthread_atfork(NULL, NULL, after_fork_child);
}

CUresult rm_cl_initialized(void)
{
    return __atomic_load_n(&initialized, __ATOMIC_ACQUIRE) ? CUDA_SUCCESS : CUDA_ERROR_NOT_INITIALIZED;
}

const rm_device_info_t *rm_cl_device(CUdevice dev)
{
    if (!initialized || dev < 0 || dev >= device_count)
        return NULL;
    return &devices[dev];
}

/* While cuInit fills the cache the map is already complete; initialized
 * is not set yet. */
static int mapped(int32_t dev) { return dev >= 0 && dev < __atomic_load_n(&device_count, __ATOMIC_ACQUIRE); }

int rm_cl_device_route(int32_t *dev)
{
    if (!mapped(*dev))
        return rm_route_current(); /* that server answers for a bad ordinal */
    int srv = device_map[*dev].srv;
    *dev = device_map[*dev].local;
    return srv;
}

int rm_cl_device_server(CUdevice dev) { return mapped(dev) ? device_map[dev].srv : -1; }

CUdevice rm_cl_device_global(int srv, int32_t local)
{
    for (int i = 0; i < device_count; i++)
        if (device_map[i].srv == srv && device_map[i].local == local)
            return i;
    return local; /* not a device of that server: passed on as the server said */
}

/* Each server's driver version and device count; the map from global
 * ordinals to servers. The program sees the lowest driver version. */
static CUresult init_servers(unsigned flags, int *total)
{
    int n = 0, nservers = rm_session_servers();
    for (int srv = 0; srv < nservers; srv++) {
        rm_init_req_t in = {.flags = flags};
        rm_init_rep_t out;
        int before = rm_route_pin(srv);
        CUresult r = rm_call_init(&in, &out);
        rm_route_unpin(before);
        if (r == CUDA_SUCCESS && (out.device_count < 0 || out.device_count > MAX_DEVICES - n))
            r = CUDA_ERROR_INVALID_VALUE;
        if (r != CUDA_SUCCESS)
            return r;
        for (int i = 0; i < out.device_count; i++)
            device_map[n + i].srv = srv, device_map[n + i].local = i;
        n += out.device_count;
        if (srv == 0 || (int)out.driver_version < driver_version)
            driver_version = (int)out.driver_version;
    }
    *total = n;
    return CUDA_SUCCESS;
}

/* The program's own lower memory limit for GPU i (memlimit.h), if it asks
 * for one: the server answers the total memory the session now sees. */
static CUresult ask_mem_limit(int i, rm_device_info_t *d)
{
    uint64_t want;
    if (rm_cl_mem_limit_wanted(i, d->uuid, &want) != 0)
        return CUDA_ERROR_INVALID_VALUE;
    if (!want)
        return CUDA_SUCCESS;
    rm_mem_limit_req_t in = {.device = i, .bytes = want};
    rm_mem_limit_rep_t out;
    CUresult r = rm_call_mem_limit(&in, &out);
    if (r != CUDA_SUCCESS)
        return r;
    if (out.total_mem < want)
        RM_INFO("GPU %d: %llu bytes of memory asked for, the session has %llu (the server's limit or the GPU's size)",
                i, (unsigned long long)want, (unsigned long long)out.total_mem);
    d->total_mem = out.total_mem;
    return CUDA_SUCCESS;
}

/* The program's own lower compute share for GPU i (computeshare.h), if it
 * asks for one. */
static CUresult ask_compute_share(int i, const rm_device_info_t *d)
{
    uint32_t want;
    if (rm_cl_compute_share_wanted(i, d->uuid, &want) != 0)
        return CUDA_ERROR_INVALID_VALUE;
    if (!want)
        return CUDA_SUCCESS;
    rm_compute_share_req_t in = {.device = i, .percent = want};
    rm_compute_share_rep_t out;
    CUresult r = rm_call_compute_share(&in, &out);
    if (r == CUDA_SUCCESS && out.share != want)
        RM_INFO("GPU %d: a compute share of %u%% asked for, the session has %u%% (the server's)", i, want, out.share);
    return r;
}

static CUresult fetch_devices(int n)
{
    rm_device_info_t *d = calloc(n ? (size_t)n : 1, sizeof *d);
    if (!d)
        return CUDA_ERROR_OUT_OF_MEMORY;
    for (int i = 0; i < n; i++) {
        rm_device_info_req_t in = {.device = i};
        rm_device_info_rep_t out;
        CUresult r = rm_call_device_info(&in, &out);
        if (r == CUDA_SUCCESS && out.info_len != sizeof *d)
            r = CUDA_ERROR_INVALID_VALUE;
        if (r != CUDA_SUCCESS) {
            free(d);
            return r;
        }
        memcpy(&d[i], out.info, sizeof *d);
        if ((r = ask_mem_limit(i, &d[i])) != CUDA_SUCCESS || (r = ask_compute_share(i, &d[i])) != CUDA_SUCCESS) {
            free(d);
            return r;
        }
        /* managed memory is emulated with coherence points (managed.h): the
         * CPU may not touch it while the device runs */
        d[i].attrs[CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS] = 0;
        d[i].attrs[CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS] = 0;
        d[i].attrs[CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS_USES_HOST_PAGE_TABLES] = 0;
        d[i].attrs[CU_DEVICE_ATTRIBUTE_DIRECT_MANAGED_MEM_ACCESS_FROM_HOST] = 0;
        d[i].name[sizeof d[i].name - 1] = 0;
    }
    devices = d;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI RM_IMPL(cuInit)(unsigned int flags)
{
    CUresult r = CUDA_SUCCESS;
    pthread_mutex_lock(&init_lock);
    if (!initialized) {
        int n = 0;
        if ((r = init_servers(flags, &n)) == CUDA_SUCCESS) {
            __atomic_store_n(&device_count, n, __ATOMIC_RELEASE);
            r = fetch_devices(n);
        }
        if (r == CUDA_SUCCESS)
            __atomic_store_n(&initialized, 1, __ATOMIC_RELEASE);
        else
            __atomic_store_n(&device_count, 0, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&init_lock);
    return r;
}

CUresult CUDAAPI RM_IMPL(cuDriverGetVersion)(int *v)
{
    if (!v)
        return CUDA_ERROR_INVALID_VALUE;
    *v = initialized ? driver_version : CUDA_VERSION; /* works before cuInit, as natively */
    return CUDA_SUCCESS;
}

CUresult CUDAAPI RM_IMPL(cuDeviceGetCount)(int *count)
{
    if (!count)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult r = rm_cl_initialized();
    if (r == CUDA_SUCCESS)
        *count = device_count;
    return r;
}

/* Common prologue of the per-device queries. */
static CUresult lookup(CUdevice dev, const void *out, const rm_device_info_t **d)
{
    CUresult r = rm_cl_initialized();
    if (r != CUDA_SUCCESS)
        return r;
    if (!out)
        return CUDA_ERROR_INVALID_VALUE;
    *d = rm_cl_device(dev);
    return *d ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE;
}

CUresult CUDAAPI RM_IMPL(cuDeviceGet)(CUdevice *device, int ordinal)
{
    const rm_device_info_t *d;
    CUresult r = lookup(ordinal, device, &d);
    if (r == CUDA_SUCCESS)
        *device = ordinal;
    return r;
}

CUresult CUDAAPI RM_IMPL(cuDeviceGetName)(char *name, int len, CUdevice dev)
{
    const rm_device_info_t *d;
    CUresult r = lookup(dev, name, &d);
    if (r != CUDA_SUCCESS)
        return r;
    if (len <= 0)
        return CUDA_ERROR_INVALID_VALUE;
    snprintf(name, (size_t)len, "%s", d->name);
    return CUDA_SUCCESS;
}

CUresult CUDAAPI RM_IMPL(cuDeviceGetUuid_v2)(CUuuid *uuid, CUdevice dev)
{
    const rm_device_info_t *d;
    CUresult r = lookup(dev, uuid, &d);
    if (r == CUDA_SUCCESS)
        memcpy(uuid->bytes, d->uuid, sizeof uuid->bytes);
    return r;
}

/* The CUDA 9.2 ABI, which NVIDIA's cudart still asks for: the same answer
 * (remora's devices are whole GPUs, so the MIG distinction of _v2 does not arise). */
CUresult CUDAAPI RM_IMPL(cuDeviceGetUuid)(CUuuid *uuid, CUdevice dev) { return cuDeviceGetUuid_v2(uuid, dev); }

CUresult CUDAAPI RM_IMPL(cuDeviceTotalMem_v2)(size_t *bytes, CUdevice dev)
{
    const rm_device_info_t *d;
    CUresult r = lookup(dev, bytes, &d);
    if (r == CUDA_SUCCESS)
        *bytes = d->total_mem;
    return r;
}

CUresult CUDAAPI RM_IMPL(cuDeviceGetAttribute)(int *pi, CUdevice_attribute attrib, CUdevice dev)
{
    const rm_device_info_t *d;
    CUresult r = lookup(dev, pi, &d);
    if (r != CUDA_SUCCESS)
        return r;
    if ((int)attrib <= 0 || attrib >= CU_DEVICE_ATTRIBUTE_MAX)
        return CUDA_ERROR_INVALID_VALUE;
    *pi = d->attrs[attrib];
    return CUDA_SUCCESS;
}

CUresult CUDAAPI RM_IMPL(cuDeviceComputeCapability)(int *major, int *minor, CUdevice dev)
{
    const rm_device_info_t *d;
    CUresult r = lookup(dev, major, &d);
    if (r != CUDA_SUCCESS || !minor)
        return r != CUDA_SUCCESS ? r : CUDA_ERROR_INVALID_VALUE;
    *major = d->attrs[CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR];
    *minor = d->attrs[CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR];
    return CUDA_SUCCESS;
}

CUresult CUDAAPI RM_IMPL(cuDeviceGetPCIBusId)(char *bus_id, int len, CUdevice dev)
{
    const rm_device_info_t *d;
    CUresult r = lookup(dev, bus_id, &d);
    if (r != CUDA_SUCCESS)
        return r;
    if (len <= 0)
        return CUDA_ERROR_INVALID_VALUE;
    snprintf(bus_id, (size_t)len, "%08x:%02x:%02x.0", d->attrs[CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID],
             d->attrs[CU_DEVICE_ATTRIBUTE_PCI_BUS_ID], d->attrs[CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID]);
    return CUDA_SUCCESS;
}

/* GPUs behind different servers share no memory: never peers. */
CUresult CUDAAPI RM_IMPL(cuDeviceCanAccessPeer)(int *can, CUdevice dev, CUdevice peer)
{
    if (!can)
        return CUDA_ERROR_INVALID_VALUE;
    int a = rm_cl_device_server(dev), b = rm_cl_device_server(peer);
    if (a >= 0 && b >= 0 && a != b) {
        *can = 0;
        return CUDA_SUCCESS;
    }
    rm_device_can_access_peer_req_t in = {.device = dev, .peer = peer};
    rm_device_can_access_peer_rep_t out;
    CUresult r = rm_call_device_can_access_peer(&in, &out);
    if (r == CUDA_SUCCESS)
        *can = (int)out.can;
    return r;
}
