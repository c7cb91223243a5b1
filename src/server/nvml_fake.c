/* The fake backend's NVML (nvml_backend.h): answers that agree with the
 * fake driver (device count, names, UUIDs, memory in use) and fixed
 * plausible values for the sensors. Calls left out answer
 * NVML_ERROR_NOT_SUPPORTED, as they would on a GPU without them. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "backend_fake.h"
#include "nvml_backend.h"

#define FAKE_SENSOR(name, value)                                        \
    static nvmlReturn_t fake_##name(nvmlDevice_t d, unsigned int *out)  \
    {                                                                   \
        if (dev_of(d) < 0)                                              \
            return NVML_ERROR_INVALID_ARGUMENT;                         \
        *out = (value);                                                 \
        return NVML_SUCCESS;                                            \
    }

static rm_backend_t drv; /* the fake driver, for what NVML shares with it */

/* A fake handle is its device's index + 1. */
static int dev_of(nvmlDevice_t d)
{
    uintptr_t i = (uintptr_t)d;
    int ndev = 0;
    if (drv.cuDeviceGetCount(&ndev) != CUDA_SUCCESS || i == 0 || i > (uintptr_t)ndev)
        return -1;
    return (int)(i - 1);
}

static nvmlReturn_t fake_init(void) { return NVML_SUCCESS; }

static nvmlReturn_t fake_handle(unsigned int index, nvmlDevice_t *d)
{
    *d = (nvmlDevice_t)(uintptr_t)(index + 1);
    return dev_of(*d) < 0 ? NVML_ERROR_INVALID_ARGUMENT : NVML_SUCCESS;
}

static nvmlReturn_t put_str(char *out, unsigned int len, const char *s)
{
    if (strlen(s) >= len)
        return NVML_ERROR_INSUFFICIENT_SIZE;
    memcpy(out, s, strlen(s) + 1);
    return NVML_SUCCESS;
}

static nvmlReturn_t fake_driver_version(char *v, unsigned int len) { return put_str(v, len, "580.00 (remora fake)"); }
static nvmlReturn_t fake_nvml_version(char *v, unsigned int len) { return put_str(v, len, "13.580.00 (remora fake)"); }

static nvmlReturn_t fake_cuda_version(int *v)
{
    return drv.cuDriverGetVersion(v) == CUDA_SUCCESS ? NVML_SUCCESS : NVML_ERROR_UNKNOWN;
}

static nvmlReturn_t fake_name(nvmlDevice_t d, char *name, unsigned int len)
{
    char buf[RM_NVML_STR_MAX];
    if (dev_of(d) < 0 || drv.cuDeviceGetName(buf, sizeof buf, dev_of(d)) != CUDA_SUCCESS)
        return NVML_ERROR_INVALID_ARGUMENT;
    return put_str(name, len, buf);
}

/* NVML's form of the driver's UUID: GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx. */
static nvmlReturn_t fake_uuid(nvmlDevice_t d, char *uuid, unsigned int len)
{
    CUuuid u;
    if (dev_of(d) < 0 || drv.cuDeviceGetUuid_v2(&u, dev_of(d)) != CUDA_SUCCESS)
        return NVML_ERROR_INVALID_ARGUMENT;
    char buf[64] = "GPU-", *p = buf + 4;
    for (int i = 0; i < 16; i++) {
        p += sprintf(p, "%02x", (unsigned char)u.bytes[i]);
        if (i == 3 || i == 5 || i == 7 || i == 9)
            *p++ = '-';
    }
    return put_str(uuid, len, buf);
}

/* Which fake GPU device d is (CUDA_VISIBLE_DEVICES may reorder them), and
 * its PCI bus: the fake driver's answers. */
static int gpu_of(nvmlDevice_t d, int *gpu, int *bus)
{
    int i = dev_of(d);
    return i >= 0 && drv.cuDeviceGetAttribute(gpu, CU_DEVICE_ATTRIBUTE_MULTI_GPU_BOARD_GROUP_ID, i) == CUDA_SUCCESS &&
                   drv.cuDeviceGetAttribute(bus, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, i) == CUDA_SUCCESS
               ? 0
               : -1;
}

static nvmlReturn_t fake_serial(nvmlDevice_t d, char *serial, unsigned int len)
{
    char buf[32];
    int gpu, bus;
    if (gpu_of(d, &gpu, &bus) != 0)
        return NVML_ERROR_INVALID_ARGUMENT;
    snprintf(buf, sizeof buf, "FAKE%010d", gpu);
    return put_str(serial, len, buf);
}

static nvmlReturn_t fake_pci(nvmlDevice_t d, nvmlPciInfo_t *pci)
{
    int gpu, b;
    if (gpu_of(d, &gpu, &b) != 0)
        return NVML_ERROR_INVALID_ARGUMENT;
    memset(pci, 0, sizeof *pci);
    unsigned char bus = (unsigned char)b;
    pci->bus = bus;
    pci->pciDeviceId = 0x233010de; /* device 0x2330, NVIDIA's vendor id */
    snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "0000:%02X:00.0", bus);
    snprintf(pci->busId, sizeof pci->busId, "00000000:%02X:00.0", bus);
    return NVML_SUCCESS;
}

/* By bus number: the driver writes a 4-digit domain, NVML an 8-digit one. */
static nvmlReturn_t fake_pci_bus(const char *bus_id, nvmlDevice_t *d)
{
    int ndev = 0;
    unsigned dom, bus, dv, fn;
    if (sscanf(bus_id, "%x:%x:%x.%x", &dom, &bus, &dv, &fn) != 4)
        return NVML_ERROR_INVALID_ARGUMENT;
    drv.cuDeviceGetCount(&ndev);
    for (int i = 0; i < ndev; i++) {
        nvmlPciInfo_t pci;
        nvmlDevice_t h = (nvmlDevice_t)(uintptr_t)(i + 1);
        if (fake_pci(h, &pci) == NVML_SUCCESS && pci.bus == bus && dom == 0 && dv == 0 && fn == 0) {
            *d = h;
            return NVML_SUCCESS;
        }
    }
    return NVML_ERROR_NOT_FOUND;
}

static nvmlReturn_t fake_cc(nvmlDevice_t d, int *major, int *minor)
{
    int i = dev_of(d);
    if (i < 0 || drv.cuDeviceGetAttribute(major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, i) != CUDA_SUCCESS ||
        drv.cuDeviceGetAttribute(minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, i) != CUDA_SUCCESS)
        return NVML_ERROR_INVALID_ARGUMENT;
    return NVML_SUCCESS;
}

/* The fake driver's memory of this session's worker: total and in use. */
static nvmlReturn_t fake_mem(nvmlDevice_t d, uint64_t *total, uint64_t *used)
{
    int i = dev_of(d);
    if (i < 0)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (rm_fake_enter() != CUDA_SUCCESS) { /* the driver is not initialised */
        rm_fake_leave(CUDA_SUCCESS);
        return NVML_ERROR_UNINITIALIZED;
    }
    *total = rm_fake_state.mem_total;
    *used = rm_fake_state.dev[i].used;
    rm_fake_leave(CUDA_SUCCESS);
    return NVML_SUCCESS;
}

static nvmlReturn_t fake_memory(nvmlDevice_t d, nvmlMemory_t *m)
{
    uint64_t total, used;
    nvmlReturn_t r = fake_mem(d, &total, &used);
    if (r == NVML_SUCCESS)
        *m = (nvmlMemory_t){.total = total, .used = used, .free = total - used};
    return r;
}

static nvmlReturn_t fake_memory_v2(nvmlDevice_t d, nvmlMemory_v2_t *m)
{
    uint64_t total, used;
    nvmlReturn_t r = fake_mem(d, &total, &used);
    if (r == NVML_SUCCESS)
        *m = (nvmlMemory_v2_t){.version = m->version, .total = total, .used = used, .free = total - used};
    return r;
}

static nvmlReturn_t fake_bar1(nvmlDevice_t d, nvmlBAR1Memory_t *m)
{
    if (dev_of(d) < 0)
        return NVML_ERROR_INVALID_ARGUMENT;
    *m = (nvmlBAR1Memory_t){.bar1Total = 256u << 20, .bar1Free = 255u << 20, .bar1Used = 1u << 20};
    return NVML_SUCCESS;
}

static nvmlReturn_t fake_utilization(nvmlDevice_t d, nvmlUtilization_t *u)
{
    if (dev_of(d) < 0)
        return NVML_ERROR_INVALID_ARGUMENT;
    *u = (nvmlUtilization_t){.gpu = 0, .memory = 0}; /* the fake GPU is idle between calls */
    return NVML_SUCCESS;
}

static nvmlReturn_t fake_temperature(nvmlDevice_t d, int sensor, unsigned int *t)
{
    if (dev_of(d) < 0 || sensor != 0) /* NVML_TEMPERATURE_GPU */
        return NVML_ERROR_INVALID_ARGUMENT;
    *t = 40;
    return NVML_SUCCESS;
}

static nvmlReturn_t fake_clock(nvmlDevice_t d, int type, unsigned int *mhz)
{
    static const unsigned mhz_of[] = {1410, 1410, 1593, 1275}; /* graphics, SM, memory, video */
    if (dev_of(d) < 0 || type < 0 || type > 3)
        return NVML_ERROR_INVALID_ARGUMENT;
    *mhz = mhz_of[type];
    return NVML_SUCCESS;
}

static nvmlReturn_t fake_two(nvmlDevice_t d, int *current, int *pending)
{
    if (dev_of(d) < 0)
        return NVML_ERROR_INVALID_ARGUMENT;
    *current = *pending = 0; /* disabled */
    return NVML_SUCCESS;
}

static nvmlReturn_t fake_mig(nvmlDevice_t d, unsigned int *current, unsigned int *pending)
{
    return fake_two(d, (int *)current, (int *)pending);
}

static nvmlReturn_t fake_zero(nvmlDevice_t d, int *v)
{
    if (dev_of(d) < 0)
        return NVML_ERROR_INVALID_ARGUMENT;
    *v = 0; /* P0, the default compute mode, persistence disabled */
    return NVML_SUCCESS;
}

FAKE_SENSOR(minor, (unsigned)dev_of(d))
FAKE_SENSOR(arch, 9)            /* NVML_DEVICE_ARCH_HOPPER */
FAKE_SENSOR(power, 70000)       /* mW */
FAKE_SENSOR(power_limit, 700000)
FAKE_SENSOR(fan, 30)            /* percent */
FAKE_SENSOR(link_gen, 5)        /* PCIe 5, the GPU's and the system's */

void rm_nvml_fake_fill(rm_nvml_api_t *api)
{
    rm_backend_fake_fill(&drv);
    memset(api, 0, sizeof *api);
    api->nvmlInit_v2 = fake_init;
    api->nvmlShutdown = fake_init;
    api->nvmlDeviceGetHandleByIndex_v2 = fake_handle;
    api->nvmlDeviceGetHandleByPciBusId_v2 = fake_pci_bus;
    api->nvmlSystemGetDriverVersion = fake_driver_version;
    api->nvmlSystemGetNVMLVersion = fake_nvml_version;
    api->nvmlSystemGetCudaDriverVersion = fake_cuda_version;
    api->nvmlSystemGetCudaDriverVersion_v2 = fake_cuda_version;
    api->nvmlDeviceGetName = fake_name;
    api->nvmlDeviceGetUUID = fake_uuid;
    api->nvmlDeviceGetSerial = fake_serial;
    api->nvmlDeviceGetPciInfo_v3 = fake_pci;
    api->nvmlDeviceGetPciInfo_v2 = fake_pci;
    api->nvmlDeviceGetMinorNumber = fake_minor;
    api->nvmlDeviceGetArchitecture = fake_arch;
    api->nvmlDeviceGetCudaComputeCapability = fake_cc;
    api->nvmlDeviceGetMemoryInfo = fake_memory;
    api->nvmlDeviceGetMemoryInfo_v2 = fake_memory_v2;
    api->nvmlDeviceGetBAR1MemoryInfo = fake_bar1;
    api->nvmlDeviceGetUtilizationRates = fake_utilization;
    api->nvmlDeviceGetTemperature = fake_temperature;
    api->nvmlDeviceGetPowerUsage = fake_power;
    api->nvmlDeviceGetPowerManagementLimit = fake_power_limit;
    api->nvmlDeviceGetEnforcedPowerLimit = fake_power_limit;
    api->nvmlDeviceGetClockInfo = fake_clock;
    api->nvmlDeviceGetMaxClockInfo = fake_clock;
    api->nvmlDeviceGetFanSpeed = fake_fan;
    api->nvmlDeviceGetMaxPcieLinkGeneration = fake_link_gen;
    api->nvmlDeviceGetGpuMaxPcieLinkGeneration = fake_link_gen;
    api->nvmlDeviceGetPerformanceState = fake_zero;
    api->nvmlDeviceGetComputeMode = fake_zero;
    api->nvmlDeviceGetPersistenceMode = fake_zero;
    api->nvmlDeviceGetMigMode = fake_mig;
    api->nvmlDeviceGetEccMode = fake_two;
}
