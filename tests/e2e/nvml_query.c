/* e2e (remora only): remora's libnvidia-ml.so.1, loaded as tools load it
 * (dlopen by name, through LD_LIBRARY_PATH), against the fake backend. Its
 * answers agree with the driver API (count, names, compute capability,
 * driver version), handles round-trip by UUID and PCI bus id, memory info
 * (v1 and v2) shows the session's limit as the total and its own use as
 * used when RM_TEST_NVML_LIMIT (bytes) is set, else the device's memory;
 * the running processes are this process, holding its memory; calls the
 * fake GPU or remora lack fail with NVML_ERROR_NOT_SUPPORTED, bad handles
 * with INVALID_ARGUMENT, and calls after nvmlShutdown with UNINITIALIZED;
 * the entry points PyTorch looks up all exist. nvidia-smi's private table
 * (nvmlInternalGetExportTable, src/nvml/smi_table.c) is handed out and its
 * slots answer as nvidia-smi calls them: handles by index, this process in
 * the compute list with its memory and name, none in the others, the host's
 * PCIe generation, N/A sparse mode, no persistence change, success and a
 * zero count from the others; the public calls nvidia-smi's views make all
 * exist and answer (success, or NOT_SUPPORTED where the fake GPU lacks it). */
#include "testutil.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rm_nvml.h"

static void *lib;

/* NVML's entry point by name, typed as the caller's pointer f. */
#define SYM(f, name)                                          \
    do {                                                      \
        *(void **)&(f) = dlsym(lib, name);                    \
        RM_EXPECT(f, "libnvidia-ml.so.1 has no %s", name);    \
    } while (0)
#define NV(call) expect_nv((call), NVML_SUCCESS, #call, __LINE__)
#define NV_EXPECT(call, want) expect_nv((call), (want), #call, __LINE__)

static const char *(*error_string)(nvmlReturn_t);

static void expect_nv(nvmlReturn_t got, nvmlReturn_t want, const char *what, int line)
{
    RM_EXPECT(got == want, "line %d: %s: %d (%s), want %d (%s)", line, what, got, error_string(got), want,
              error_string(want));
}

static nvmlReturn_t (*init_v2)(void), (*shutdown_)(void), (*count_v2)(unsigned *);
static nvmlReturn_t (*by_index)(unsigned, nvmlDevice_t *), (*by_uuid)(const char *, nvmlDevice_t *);
static nvmlReturn_t (*by_bus)(const char *, nvmlDevice_t *), (*get_index)(nvmlDevice_t, unsigned *);
static nvmlReturn_t (*driver_version)(char *, unsigned), (*cuda_version)(int *);
static nvmlReturn_t (*name_of)(nvmlDevice_t, char *, unsigned), (*uuid_of)(nvmlDevice_t, char *, unsigned);
static nvmlReturn_t (*pci_of)(nvmlDevice_t, nvmlPciInfo_t *), (*cc_of)(nvmlDevice_t, int *, int *);
static nvmlReturn_t (*mem_v1)(nvmlDevice_t, nvmlMemory_t *), (*mem_v2)(nvmlDevice_t, nvmlMemory_v2_t *);
static nvmlReturn_t (*procs)(nvmlDevice_t, unsigned *, nvmlProcessInfo_t *);
static nvmlReturn_t (*util)(nvmlDevice_t, nvmlUtilization_t *), (*temp)(nvmlDevice_t, int, unsigned *);
static nvmlReturn_t (*power)(nvmlDevice_t, unsigned *), (*clock)(nvmlDevice_t, int, unsigned *);
static nvmlReturn_t (*mig)(nvmlDevice_t, unsigned *, unsigned *), (*ecc)(nvmlDevice_t, int *, int *);
static nvmlReturn_t (*compute_mode)(nvmlDevice_t, int *), (*fan_v2)(nvmlDevice_t, unsigned, unsigned *);
static nvmlReturn_t (*unit_count)(unsigned *), (*export_table)(const void **, const void *);
static nvmlReturn_t (*p2p)(nvmlDevice_t, nvmlDevice_t, int, int *);
static nvmlReturn_t (*max_link_gen)(nvmlDevice_t, unsigned *), (*process_name)(unsigned, char *, unsigned);

static void load(void)
{
    lib = dlopen("libnvidia-ml.so.1", RTLD_NOW);
    RM_EXPECT(lib, "dlopen libnvidia-ml.so.1: %s", dlerror());
    RM_EXPECT(dlsym(lib, "remora_nvml_client"), "the libnvidia-ml.so.1 loaded is not remora's");
    SYM(error_string, "nvmlErrorString");
    SYM(init_v2, "nvmlInit_v2");
    SYM(shutdown_, "nvmlShutdown");
    SYM(count_v2, "nvmlDeviceGetCount_v2");
    SYM(by_index, "nvmlDeviceGetHandleByIndex_v2");
    SYM(by_uuid, "nvmlDeviceGetHandleByUUID");
    SYM(by_bus, "nvmlDeviceGetHandleByPciBusId_v2");
    SYM(get_index, "nvmlDeviceGetIndex");
    SYM(p2p, "nvmlDeviceGetP2PStatus");
    SYM(driver_version, "nvmlSystemGetDriverVersion");
    SYM(cuda_version, "nvmlSystemGetCudaDriverVersion_v2");
    SYM(name_of, "nvmlDeviceGetName");
    SYM(uuid_of, "nvmlDeviceGetUUID");
    SYM(pci_of, "nvmlDeviceGetPciInfo_v3");
    SYM(cc_of, "nvmlDeviceGetCudaComputeCapability");
    SYM(mem_v1, "nvmlDeviceGetMemoryInfo");
    SYM(mem_v2, "nvmlDeviceGetMemoryInfo_v2");
    SYM(procs, "nvmlDeviceGetComputeRunningProcesses_v3");
    SYM(util, "nvmlDeviceGetUtilizationRates");
    SYM(temp, "nvmlDeviceGetTemperature");
    SYM(power, "nvmlDeviceGetPowerUsage");
    SYM(clock, "nvmlDeviceGetClockInfo");
    SYM(mig, "nvmlDeviceGetMigMode");
    SYM(ecc, "nvmlDeviceGetEccMode");
    SYM(compute_mode, "nvmlDeviceGetComputeMode");
    SYM(fan_v2, "nvmlDeviceGetFanSpeed_v2");
    SYM(unit_count, "nvmlUnitGetCount");
    SYM(export_table, "nvmlInternalGetExportTable");
    SYM(max_link_gen, "nvmlDeviceGetMaxPcieLinkGeneration");
    SYM(process_name, "nvmlSystemGetProcessName");
    /* PyTorch's c10 driver API asserts that these exist once it finds an NVML. */
    static const char *const torch_needs[] = {"nvmlInit_v2", "nvmlDeviceGetHandleByPciBusId_v2",
                                              "nvmlDeviceGetNvLinkRemoteDeviceType",
                                              "nvmlDeviceGetNvLinkRemotePciInfo_v2",
                                              "nvmlDeviceGetComputeRunningProcesses"};
    for (size_t i = 0; i < sizeof torch_needs / sizeof torch_needs[0]; i++)
        RM_EXPECT(dlsym(lib, torch_needs[i]), "libnvidia-ml.so.1 has no %s (PyTorch needs it)", torch_needs[i]);
}

/* Name, UUID and PCI bus id of device i agree with the driver and lead
 * back to the same handle. */
static void identity(int i, nvmlDevice_t d)
{
    char name[96], cu_name[96], uuid[96];
    nvmlDevice_t again;
    unsigned index;
    NV(name_of(d, name, sizeof name));
    CK(cuDeviceGetName(cu_name, sizeof cu_name, i));
    RM_EXPECT(strcmp(name, cu_name) == 0, "NVML name '%s', driver '%s'", name, cu_name);
    NV_EXPECT(name_of(d, name, 4), NVML_ERROR_INSUFFICIENT_SIZE);
    NV(uuid_of(d, uuid, sizeof uuid));
    RM_EXPECT(strncmp(uuid, "GPU-", 4) == 0 && strlen(uuid) == 40, "UUID '%s'", uuid);
    NV(by_uuid(uuid, &again));
    RM_EXPECT(again == d, "the handle by UUID %s is another device's", uuid);
    NV_EXPECT(by_uuid("GPU-not-a-gpu", &again), NVML_ERROR_NOT_FOUND);
    nvmlPciInfo_t pci;
    NV(pci_of(d, &pci));
    NV(by_bus(pci.busId, &again));
    RM_EXPECT(again == d, "the handle by PCI bus id %s is another device's", pci.busId);
    NV(by_bus(pci.busIdLegacy, &again));
    RM_EXPECT(again == d, "the handle by PCI bus id %s is another device's", pci.busIdLegacy);
    char cu_bus[32];
    CK(cuDeviceGetPCIBusId(cu_bus, sizeof cu_bus, i)); /* how PyTorch finds NVML's handle */
    NV(by_bus(cu_bus, &again));
    RM_EXPECT(again == d, "the handle by the driver's PCI bus id %s is another device's", cu_bus);
    NV(get_index(d, &index));
    RM_EXPECT(index == (unsigned)i, "nvmlDeviceGetIndex %u, want %d", index, i);
    int major, minor, cu_major, cu_minor;
    NV(cc_of(d, &major, &minor));
    CK(cuDeviceGetAttribute(&cu_major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, i));
    CK(cuDeviceGetAttribute(&cu_minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, i));
    RM_EXPECT(major == cu_major && minor == cu_minor, "compute capability %d.%d, driver %d.%d", major, minor,
              cu_major, cu_minor);
}

/* Memory info in both versions: total, and used as this session holds. */
static void expect_memory(nvmlDevice_t d, uint64_t total, uint64_t used, const char *when)
{
    nvmlMemory_t m;
    NV(mem_v1(d, &m));
    RM_EXPECT(m.total == total && m.used == used && m.free == total - used,
              "%s: v1 total %llu used %llu free %llu, want total %llu used %llu", when, m.total, m.used, m.free,
              (unsigned long long)total, (unsigned long long)used);
    nvmlMemory_v2_t m2 = {.version = (unsigned)sizeof m2 | 2u << 24};
    NV(mem_v2(d, &m2));
    RM_EXPECT(m2.total == total && m2.used == used && m2.free == total - used,
              "%s: v2 total %llu used %llu free %llu", when, m2.total, m2.used, m2.free);
}

static void processes(nvmlDevice_t d, uint64_t used)
{
    nvmlProcessInfo_t p[4];
    unsigned n = 0;
    NV_EXPECT(procs(d, &n, NULL), NVML_ERROR_INSUFFICIENT_SIZE);
    RM_EXPECT(n == 1, "%u processes counted, want 1 (this one)", n);
    n = 4;
    NV(procs(d, &n, p));
    RM_EXPECT(n == 1 && p[0].pid == (unsigned)getpid(), "processes: %u, first pid %u, want this one (%d)", n,
              n ? p[0].pid : 0, (int)getpid());
    RM_EXPECT(p[0].usedGpuMemory == used, "the process holds %llu bytes, want %llu", p[0].usedGpuMemory,
              (unsigned long long)used);
}

static void sensors(nvmlDevice_t d)
{
    nvmlUtilization_t u;
    unsigned t, mw, mhz, cur, pend, speed;
    int mode, ecur, epend;
    NV(util(d, &u));
    RM_EXPECT(u.gpu <= 100 && u.memory <= 100, "utilisation %u%% / %u%%", u.gpu, u.memory);
    NV(temp(d, 0, &t));
    RM_EXPECT(t > 0 && t < 120, "temperature %u C", t);
    NV(power(d, &mw));
    NV(clock(d, 1, &mhz)); /* NVML_CLOCK_SM */
    RM_EXPECT(mhz > 0, "SM clock %u MHz", mhz);
    NV(mig(d, &cur, &pend));
    NV(ecc(d, &ecur, &epend));
    NV(compute_mode(d, &mode));
    NV_EXPECT(fan_v2(d, 0, &speed), NVML_ERROR_NOT_SUPPORTED); /* remoted; the fake GPU has no fans to index */
    NV_EXPECT(temp(d, 0, NULL), NVML_ERROR_INVALID_ARGUMENT);
}

/* nvmlDeviceGetP2PStatus (NCCL fails without an answer): a GPU with itself
 * is no peer pair (5, not supported); two GPUs as the driver's peer access. */
static void peers(unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        for (unsigned j = 0; j < n; j++) {
            nvmlDevice_t a, b;
            int status = -1, can = 0;
            NV(by_index(i, &a));
            NV(by_index(j, &b));
            NV(p2p(a, b, 0, &status));
            if (i != j)
                CK(cuDeviceCanAccessPeer(&can, (CUdevice)i, (CUdevice)j));
            RM_EXPECT(status == (can ? 0 : 5), "P2P status of GPUs %u and %u: %d (driver: %d)", i, j, status, can);
        }
    NV_EXPECT(p2p((nvmlDevice_t)&n, (nvmlDevice_t)&n, 0, &(int){0}), NVML_ERROR_INVALID_ARGUMENT);
}

/* One entry of the table's process lists, as nvidia-smi reads it. */
typedef struct {
    uint32_t pid;
    uint64_t used;
    uint32_t gpu_instance, compute_instance;
    uint64_t cc_protected;
    char name[4096];
} smi_process_t;

typedef nvmlReturn_t (*slot_fn)(uintptr_t, uintptr_t, uintptr_t, uintptr_t);
#define SLOT(t, i) ((slot_fn)(t)[i])

static void smi_table(unsigned ndev, nvmlDevice_t d0, uint64_t used)
{
    static const unsigned char id[16] = {0xc4, 0xfe, 0x3e, 0x6c, 0xc9, 0x8f, 0x6c, 0x4e,
                                         0xa3, 0x27, 0xee, 0x69, 0x6e, 0x12, 0xf7, 0xc4};
    const void *const *t = NULL;
    NV(export_table((const void **)&t, id));
    RM_EXPECT(t && (uintptr_t)t[0] > 648 && (uintptr_t)t[0] % 8 == 0, "the table's size is %zu bytes",
              t ? (size_t)(uintptr_t)t[0] : 0);
    size_t slots = (uintptr_t)t[0] / 8;
    for (size_t i = 1; i < slots; i++)
        RM_EXPECT(t[i], "slot %zu of nvidia-smi's table is empty", i);
    RM_EXPECT(slots > 251, "nvidia-smi's table has %zu slots, nvidia-smi calls 251", slots);
    NV_EXPECT(export_table(NULL, id), NVML_ERROR_INVALID_ARGUMENT);

    for (unsigned i = 0; i < ndev; i++) { /* [81](index, &handle, 0x22): nvidia-smi's handles */
        nvmlDevice_t h = NULL, want;
        NV(SLOT(t, 81)(i, (uintptr_t)&h, 0x22, 0));
        NV(by_index(i, &want));
        RM_EXPECT(h == want, "slot 81 gave GPU %u's handle as %p, nvmlDeviceGetHandleByIndex %p", i, (void *)h,
                  (void *)want);
    }
    NV_EXPECT(SLOT(t, 81)(ndev, (uintptr_t) & (nvmlDevice_t){0}, 0x22, 0), NVML_ERROR_INVALID_ARGUMENT);

    static smi_process_t e[250];
    unsigned n = 250;
    memset(e, 0xab, sizeof e);
    NV(SLOT(t, 213)((uintptr_t)d0, (uintptr_t)&n, (uintptr_t)e, 0)); /* compute processes */
    RM_EXPECT(n == 1 && e[0].pid == (unsigned)getpid(), "slot 213: %u processes, the first %u; want this one (%d)",
              n, e[0].pid, (int)getpid());
    RM_EXPECT(e[0].used == used && e[0].gpu_instance == 0xFFFFFFFFu && e[0].compute_instance == 0xFFFFFFFFu &&
                  e[0].cc_protected == 0,
              "slot 213: %llu bytes (want %llu), instances %x/%x", (unsigned long long)e[0].used,
              (unsigned long long)used, e[0].gpu_instance, e[0].compute_instance);
    RM_EXPECT(strstr(e[0].name, "nvml_query") && memchr(e[0].name, '\0', sizeof e[0].name),
              "slot 213 names this process '%.64s'", e[0].name);
    for (unsigned k = 214; k <= 215; k++) { /* graphics, MPS: none */
        n = 250;
        NV(SLOT(t, k)((uintptr_t)d0, (uintptr_t)&n, (uintptr_t)e, 0));
        RM_EXPECT(n == 0, "slot %u lists %u processes, want none", k, n);
    }
    n = 0;
    NV_EXPECT(SLOT(t, 213)((uintptr_t)d0, (uintptr_t)&n, (uintptr_t)e, 0), NVML_ERROR_INSUFFICIENT_SIZE);
    RM_EXPECT(n == 1, "slot 213 with no room counts %u, want 1", n);

    unsigned gen = 0, want_gen = 0, v = 77;
    NV(SLOT(t, 230)((uintptr_t)d0, (uintptr_t)&gen, 0, 0)); /* the host's maximum PCIe generation */
    NV(max_link_gen(d0, &want_gen));
    RM_EXPECT(gen == want_gen && gen > 0, "slot 230: PCIe gen %u, nvmlDeviceGetMaxPcieLinkGeneration %u", gen,
              want_gen);
    NV_EXPECT(SLOT(t, 249)((uintptr_t)d0, (uintptr_t)&v, 0, 0), NVML_ERROR_NOT_SUPPORTED); /* sparse: N/A */
    NV_EXPECT(SLOT(t, 251)((uintptr_t)d0, 1, 0, 0), NVML_ERROR_NO_PERMISSION);               /* nvidia-smi -pm 1 */
    NV_EXPECT(SLOT(t, 251)((uintptr_t)&v, 1, 0, 0), NVML_ERROR_INVALID_ARGUMENT);
    NV(SLOT(t, 100)((uintptr_t)d0, (uintptr_t)&v, 0, 0)); /* a slot nobody has studied */
    RM_EXPECT(v == 0, "slot 100 left the count at %u, want 0", v);
    v = 77;
    NV(SLOT(t, 100)(3, (uintptr_t)&v, 0, 0));
    RM_EXPECT(v == 77, "slot 100 wrote a count for an argument that is no handle");

    char name[64];
    NV(process_name((unsigned)getpid(), name, sizeof name));
    RM_EXPECT(strstr(name, "nvml_query"), "nvmlSystemGetProcessName: '%s'", name);
    NV(process_name((unsigned)getpid(), name, 3));
    RM_EXPECT(strlen(name) == 2, "nvmlSystemGetProcessName cut to 3 bytes: '%s'", name);
    NV_EXPECT(process_name(0x7ffffffe, name, sizeof name), NVML_ERROR_NOT_FOUND);
}

/* The public calls nvidia-smi's default view and -q make: each exists and
 * answers, with success or, where the fake GPU lacks it, NOT_SUPPORTED. */
static void smi_calls(nvmlDevice_t d)
{
    static const char *const views[] = {
        "nvmlDeviceGetPersistenceMode", "nvmlDeviceGetDisplayActive", "nvmlDeviceGetDisplayMode",
        "nvmlDeviceGetEccMode", "nvmlDeviceGetTotalEccErrors", "nvmlDeviceGetFanSpeed", "nvmlDeviceGetTemperature",
        "nvmlDeviceGetPerformanceState", "nvmlDeviceGetPowerUsage", "nvmlDeviceGetEnforcedPowerLimit",
        "nvmlDeviceGetMemoryInfo_v2", "nvmlDeviceGetUtilizationRates", "nvmlDeviceGetComputeMode",
        "nvmlDeviceGetMigMode", "nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetAddressingMode",
        "nvmlDeviceGetGpuMaxPcieLinkGeneration", "nvmlDeviceGetMaxPcieLinkWidth", "nvmlDeviceGetCurrPcieLinkWidth",
        "nvmlDeviceGetPcieThroughput", "nvmlDeviceGetPcieReplayCounter", "nvmlDeviceGetRemappedRows",
        "nvmlDeviceGetMemoryErrorCounter", "nvmlDeviceGetViolationStatus", "nvmlDeviceGetInforomVersion",
        "nvmlDeviceGetInforomImageVersion", "nvmlDeviceGetVbiosVersion", "nvmlDeviceGetBoardPartNumber",
        "nvmlDeviceGetSerial", "nvmlDeviceGetMinorNumber", "nvmlDeviceGetMultiGpuBoard", "nvmlDeviceGetBoardId",
        "nvmlDeviceGetAccountingMode", "nvmlDeviceGetAccountingBufferSize", "nvmlDeviceGetDriverModel",
        "nvmlDeviceGetClockInfo", "nvmlDeviceGetMaxClockInfo", "nvmlDeviceGetApplicationsClock",
        "nvmlDeviceGetDefaultApplicationsClock", "nvmlDeviceGetMaxCustomerBoostClock", "nvmlDeviceGetClock",
        "nvmlDeviceGetSupportedClocksEventReasons", "nvmlDeviceGetCurrentClocksEventReasons",
        "nvmlDeviceGetAutoBoostedClocksEnabled", "nvmlDeviceGetPowerManagementLimitConstraints",
        "nvmlDeviceGetPowerManagementDefaultLimit", "nvmlDeviceGetTemperatureThreshold",
        "nvmlDeviceGetRetiredPagesPendingStatus", "nvmlDeviceGetBAR1MemoryInfo", "nvmlDeviceGetEncoderStats",
        "nvmlDeviceGetFBCStats", "nvmlDeviceGetGspFirmwareMode", "nvmlDeviceGetGspFirmwareVersion",
        "nvmlDeviceGetHostVgpuMode", "nvmlDeviceGetVirtualizationMode", "nvmlDeviceGetFieldValues",
        "nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetGraphicsRunningProcesses_v3",
        "nvmlDeviceGetMPSComputeRunningProcesses_v3", "nvmlSystemGetProcessName", "nvmlSystemGetCudaDriverVersion_v2",
        "nvmlSystemGetNVMLVersion", "nvmlSystemGetDriverVersion", "nvmlUnitGetCount"};
    for (size_t i = 0; i < sizeof views / sizeof views[0]; i++)
        RM_EXPECT(dlsym(lib, views[i]), "libnvidia-ml.so.1 has no %s (nvidia-smi calls it)", views[i]);
    /* the ones remora remotes that nvidia-smi shows (the fake GPU answers the first) */
    nvmlReturn_t (*u32_of)(nvmlDevice_t, unsigned *);
    nvmlReturn_t (*ecc_total)(nvmlDevice_t, int, int, unsigned long long *);
    nvmlReturn_t (*rows)(nvmlDevice_t, unsigned *, unsigned *, unsigned *, unsigned *);
    nvmlReturn_t (*inforom)(nvmlDevice_t, int, char *, unsigned);
    unsigned gen = 0, a, b, c, e;
    unsigned long long count;
    char text[96];
    SYM(u32_of, "nvmlDeviceGetGpuMaxPcieLinkGeneration");
    NV(u32_of(d, &gen));
    RM_EXPECT(gen == 5, "the fake GPU's PCIe generation is %u, want 5", gen);
    SYM(ecc_total, "nvmlDeviceGetTotalEccErrors");
    NV_EXPECT(ecc_total(d, 1, 0, &count), NVML_ERROR_NOT_SUPPORTED);
    SYM(rows, "nvmlDeviceGetRemappedRows");
    NV_EXPECT(rows(d, &a, &b, &c, &e), NVML_ERROR_NOT_SUPPORTED);
    SYM(inforom, "nvmlDeviceGetInforomVersion");
    NV_EXPECT(inforom(d, 0, text, sizeof text), NVML_ERROR_NOT_SUPPORTED);
}

/* Event sets (nvidia-smi makes one at start): made, registered, never fire. */
static void events(nvmlDevice_t d)
{
    typedef struct nvmlEventSet_st *set_t;
    nvmlReturn_t (*create)(set_t *), (*release)(set_t);
    nvmlReturn_t (*types)(nvmlDevice_t, unsigned long long *);
    nvmlReturn_t (*reg)(nvmlDevice_t, unsigned long long, set_t);
    nvmlReturn_t (*wait)(set_t, void *, unsigned);
    SYM(create, "nvmlEventSetCreate");
    SYM(release, "nvmlEventSetFree");
    SYM(types, "nvmlDeviceGetSupportedEventTypes");
    SYM(reg, "nvmlDeviceRegisterEvents");
    SYM(wait, "nvmlEventSetWait_v2");
    set_t set = NULL;
    unsigned long long supported = ~0ull;
    uint64_t data[16];
    NV(create(&set));
    NV(types(d, &supported));
    RM_EXPECT(supported == 0, "supported event types 0x%llx, want none", supported);
    NV(reg(d, 1ull << 1 /* Xid errors */, set));
    NV_EXPECT(reg((nvmlDevice_t)&supported, 1, set), NVML_ERROR_INVALID_ARGUMENT);
    NV_EXPECT(wait(set, data, 1), NVML_ERROR_TIMEOUT);
    NV_EXPECT(wait((set_t)&supported, data, 1), NVML_ERROR_INVALID_ARGUMENT);
    NV(release(set));
}

int main(void)
{
    const char *want_limit = getenv("RM_TEST_NVML_LIMIT");
    load();
    RM_EXPECT(strcmp(error_string(NVML_ERROR_NOT_SUPPORTED), "Not Supported") == 0, "nvmlErrorString: '%s'",
              error_string(NVML_ERROR_NOT_SUPPORTED));
    unsigned n;
    NV_EXPECT(count_v2(&n), NVML_ERROR_UNINITIALIZED);
    NV(init_v2());
    char version[96];
    int cuda, cu_version, cu_count;
    NV(driver_version(version, sizeof version));
    RM_EXPECT(strstr(version, "fake"), "driver version '%s' does not say it is fake", version);
    NV(cuda_version(&cuda));
    CK(cuDriverGetVersion(&cu_version));
    RM_EXPECT(cuda == cu_version, "NVML's CUDA version %d, the driver's %d", cuda, cu_version);
    NV(count_v2(&n));
    CK(cuDeviceGetCount(&cu_count));
    RM_EXPECT(n == (unsigned)cu_count && n >= 1, "NVML counts %u devices, the driver %d", n, cu_count);
    NV_EXPECT(by_index(n, &(nvmlDevice_t){0}), NVML_ERROR_INVALID_ARGUMENT);
    NV_EXPECT(name_of((nvmlDevice_t)&n, version, sizeof version), NVML_ERROR_INVALID_ARGUMENT);
    for (unsigned i = 0; i < n; i++) {
        nvmlDevice_t d;
        NV(by_index(i, &d));
        identity((int)i, d);
        sensors(d);
    }
    peers(n);

    nvmlDevice_t d0;
    NV(by_index(0, &d0));
    size_t cu_total;
    CK(cuDeviceTotalMem(&cu_total, 0));
    uint64_t total = want_limit ? strtoull(want_limit, NULL, 0) : cu_total;
    uint64_t used = 0;
    if (want_limit) /* without a limit the fake GPU's use includes nothing else of this session */
        expect_memory(d0, total, 0, "before allocating");
    CUcontext ctx;
    CUdeviceptr p;
    CK(cuDevicePrimaryCtxRetain(&ctx, 0));
    CK(cuCtxSetCurrent(ctx));
    CK(cuMemAlloc(&p, 8u << 20));
    used = 8u << 20;
    expect_memory(d0, total, used, "8 MiB allocated");
    processes(d0, used);
    smi_table(n, d0, used);
    smi_calls(d0);
    events(d0);
    CK(cuMemFree(p));
    CK(cuCtxSynchronize());

    nvmlReturn_t r;
    NV_EXPECT(r = unit_count(&n), NVML_ERROR_NOT_SUPPORTED);
    const void *table = &table;
    static const unsigned char id[16] = {1, 2, 3};
    NV_EXPECT(export_table(&table, id), NVML_ERROR_NOT_SUPPORTED);
    RM_EXPECT(table == NULL, "nvmlInternalGetExportTable left its table set");
    NV(shutdown_());
    NV_EXPECT(count_v2(&n), NVML_ERROR_UNINITIALIZED);
    NV_EXPECT(shutdown_(), NVML_ERROR_UNINITIALIZED);
    CK(cuDevicePrimaryCtxRelease(0));
    printf("nvml_query: %u devices, memory total %llu, processes and handles as expected\n", n,
           (unsigned long long)total);
    return 0;
}
