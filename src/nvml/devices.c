/* libnvidia-ml.so.1: nvmlInit and nvmlShutdown, device count and handles
 * (devices.h). NVML needs remora's libcuda.so.1 in the process (the one
 * `remora run` puts first on the library path): it carries the calls, so
 * a program using both CUDA and NVML has one session, and NVML shows that
 * session's memory and process. */
#include "devices.h"

#include <cuda.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "remote.h"

#define MAX_DEVICES 64

struct nvmlDevice_st {
    int index;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int refs;             /* nvmlInit calls not yet shut down */
static rm_nvml_call_fn call; /* with lock, set while refs > 0 */
static int ndev;
static struct nvmlDevice_st devs[MAX_DEVICES];

RM_EXPORT const char remora_nvml_client[] = "remora client libnvidia-ml";

rm_nvml_call_fn rm_nvml_link(void)
{
    pthread_mutex_lock(&lock);
    rm_nvml_call_fn f = refs ? call : NULL;
    pthread_mutex_unlock(&lock);
    return f;
}

int rm_nvml_device_index(nvmlDevice_t device, int *index)
{
    uintptr_t p = (uintptr_t)device, base = (uintptr_t)devs;
    if (p < base || p >= base + sizeof devs || (p - base) % sizeof devs[0] || device->index >= ndev)
        return -1;
    *index = device->index;
    return 0;
}

/* remora's libcuda.so.1, initialised: its call entry and device count. */
static nvmlReturn_t link_libcuda(rm_nvml_call_fn *out, int *count)
{
    void *h = dlopen("libcuda.so.1", RTLD_NOW);
    if (!h) {
        RM_ERROR("nvml: cannot load libcuda.so.1: %s", dlerror());
        return NVML_ERROR_LIBRARY_NOT_FOUND;
    }
    rm_nvml_call_fn f = (rm_nvml_call_fn)dlsym(h, "remora_nvml_call");
    int (*cu_init)(unsigned) = (int (*)(unsigned))dlsym(h, "cuInit");
    int (*cu_count)(int *) = (int (*)(int *))dlsym(h, "cuDeviceGetCount");
    if (!f || !cu_init || !cu_count) {
        RM_ERROR("nvml: the libcuda.so.1 on the library path is not remora's (run the program with remora run)");
        return NVML_ERROR_LIBRARY_NOT_FOUND;
    }
    int r = cu_init(0);
    if (r == 0)
        r = cu_count(count);
    if (r != 0) {
        RM_ERROR("nvml: the remora server cannot be used (cuInit: CUresult %d)", r);
        return NVML_ERROR_DRIVER_NOT_LOADED;
    }
    *out = f;
    return NVML_SUCCESS; /* h stays loaded: the process's libcuda */
}

RM_EXPORT nvmlReturn_t nvmlInitWithFlags(unsigned int flags)
{
    (void)flags; /* NO_GPUS / NO_ATTACH: remora attaches nothing */
    nvmlReturn_t r = NVML_SUCCESS;
    pthread_mutex_lock(&lock);
    if (!refs) {
        int n = 0;
        r = link_libcuda(&call, &n);
        ndev = n < MAX_DEVICES ? n : MAX_DEVICES;
        for (int i = 0; i < MAX_DEVICES; i++)
            devs[i].index = i;
    }
    if (r == NVML_SUCCESS)
        refs++;
    pthread_mutex_unlock(&lock);
    return r;
}

RM_EXPORT nvmlReturn_t nvmlInit_v2(void) { return nvmlInitWithFlags(0); }
RM_EXPORT nvmlReturn_t nvmlInit(void) { return nvmlInitWithFlags(0); }

RM_EXPORT nvmlReturn_t nvmlShutdown(void)
{
    pthread_mutex_lock(&lock);
    nvmlReturn_t r = refs ? NVML_SUCCESS : NVML_ERROR_UNINITIALIZED;
    if (refs)
        refs--;
    pthread_mutex_unlock(&lock);
    return r;
}

RM_EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count)
{
    if (!rm_nvml_link())
        return NVML_ERROR_UNINITIALIZED;
    if (!count)
        return NVML_ERROR_INVALID_ARGUMENT;
    *count = (unsigned)ndev;
    return NVML_SUCCESS;
}

RM_EXPORT nvmlReturn_t nvmlDeviceGetCount(unsigned int *count) { return nvmlDeviceGetCount_v2(count); }

RM_EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
    if (!rm_nvml_link())
        return NVML_ERROR_UNINITIALIZED;
    if (!device || index >= (unsigned)ndev)
        return NVML_ERROR_INVALID_ARGUMENT;
    *device = &devs[index];
    return NVML_SUCCESS;
}

RM_EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *device)
{
    return nvmlDeviceGetHandleByIndex_v2(index, device);
}

RM_EXPORT nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t device, unsigned int *index)
{
    int i;
    if (!rm_nvml_link())
        return NVML_ERROR_UNINITIALIZED;
    if (!index || rm_nvml_device_index(device, &i) != 0)
        return NVML_ERROR_INVALID_ARGUMENT;
    *index = (unsigned)i;
    return NVML_SUCCESS;
}

/* The first device for which ask(device, want) holds. */
static nvmlReturn_t find_device(const char *want, int (*ask)(nvmlDevice_t, const char *),
                                nvmlDevice_t *device)
{
    if (!rm_nvml_link())
        return NVML_ERROR_UNINITIALIZED;
    if (!want || !device)
        return NVML_ERROR_INVALID_ARGUMENT;
    for (int i = 0; i < ndev; i++)
        if (ask(&devs[i], want)) {
            *device = &devs[i];
            return NVML_SUCCESS;
        }
    return NVML_ERROR_NOT_FOUND;
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length);
nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci);

static int uuid_is(nvmlDevice_t d, const char *want)
{
    char uuid[RM_NVML_STR_MAX];
    return nvmlDeviceGetUUID(d, uuid, sizeof uuid) == NVML_SUCCESS && strcasecmp(uuid, want) == 0;
}

/* PCI bus ids compare as numbers: "0000:3B:00.0" is "00000000:3b:00.0". */
static int bus_is(nvmlDevice_t d, const char *want)
{
    nvmlPciInfo_t pci;
    unsigned dom, bus, dv, fn, dom2, bus2, dv2, fn2;
    if (nvmlDeviceGetPciInfo_v3(d, &pci) != NVML_SUCCESS)
        return 0;
    pci.busId[sizeof pci.busId - 1] = '\0';
    if (sscanf(want, "%x:%x:%x.%x", &dom, &bus, &dv, &fn) != 4) {
        dom = 0; /* "bus:device.function" */
        if (sscanf(want, "%x:%x.%x", &bus, &dv, &fn) != 3)
            return 0;
    }
    return sscanf(pci.busId, "%x:%x:%x.%x", &dom2, &bus2, &dv2, &fn2) == 4 && dom == dom2 && bus == bus2 &&
           dv == dv2 && fn == fn2;
}

RM_EXPORT nvmlReturn_t nvmlDeviceGetHandleByUUID(const char *uuid, nvmlDevice_t *device)
{
    return find_device(uuid, uuid_is, device);
}

RM_EXPORT nvmlReturn_t nvmlDeviceGetHandleByPciBusId_v2(const char *pciBusId, nvmlDevice_t *device)
{
    return find_device(pciBusId, bus_is, device);
}

RM_EXPORT nvmlReturn_t nvmlDeviceGetHandleByPciBusId(const char *pciBusId, nvmlDevice_t *device)
{
    return nvmlDeviceGetHandleByPciBusId_v2(pciBusId, device);
}

/* Peer access between two GPUs, as the CUDA driver (remora's libcuda.so.1,
 * whose ordinals are these indices) answers it; a GPU with itself is
 * reported as not a peer pair. NVML's p2pStatus values: 0 OK, 5 not
 * supported. NCCL asks this for every pair it sees and fails on an error. */
RM_EXPORT nvmlReturn_t nvmlDeviceGetP2PStatus(nvmlDevice_t device1, nvmlDevice_t device2, int p2pIndex,
                                              int *p2pStatus)
{
    enum { P2P_OK = 0, P2P_NOT_SUPPORTED = 5 };
    int a, b, can = 0;
    (void)p2pIndex;
    if (!rm_nvml_link())
        return NVML_ERROR_UNINITIALIZED;
    if (!p2pStatus || rm_nvml_device_index(device1, &a) != 0 || rm_nvml_device_index(device2, &b) != 0)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (a != b) {
        CUresult (*init)(unsigned) = (CUresult(*)(unsigned))dlsym(RTLD_DEFAULT, "cuInit");
        CUresult (*get)(CUdevice *, int) = (CUresult(*)(CUdevice *, int))dlsym(RTLD_DEFAULT, "cuDeviceGet");
        CUresult (*peer)(int *, CUdevice, CUdevice) =
            (CUresult(*)(int *, CUdevice, CUdevice))dlsym(RTLD_DEFAULT, "cuDeviceCanAccessPeer");
        CUdevice da, db;
        if (!init || !get || !peer || init(0) != CUDA_SUCCESS || get(&da, a) != CUDA_SUCCESS || get(&db, b) != CUDA_SUCCESS ||
            peer(&can, da, db) != CUDA_SUCCESS)
            return NVML_ERROR_UNKNOWN;
    }
    *p2pStatus = can ? P2P_OK : P2P_NOT_SUPPORTED;
    return NVML_SUCCESS;
}
