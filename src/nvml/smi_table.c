/* nvmlInternalGetExportTable and nvidia-smi's private table ("smi" in
 * proto/nvml.spec). nvidia-smi asks NVML for this table before anything
 * else, stops ("Mismatch in versions") without it, and calls some of its
 * slots instead of public NVML calls. What each slot takes and answers is
 * as NVIDIA's mock NVML documents it for driver 580; each is answered here
 * from the public call with the same meaning (remoted where the server's
 * NVML has it):
 *   81       (unsigned index, nvmlDevice_t *out, ...): GPU index's handle
 *   213-215  (nvmlDevice_t, unsigned *count, entries): running processes,
 *            read here as the compute, graphics and MPS lists; *count is the
 *            room on the way in and how many on the way out; entries are
 *            rm_smi_process_t (an inline name: without it nvidia-smi leaves
 *            the process out)
 *   230      (nvmlDevice_t, unsigned *gen): the host side's maximum PCIe
 *            generation (nvmlDeviceGetMaxPcieLinkGeneration: the most the
 *            GPU and the system reach together)
 *   249      (nvmlDevice_t, unsigned *mode): sparse operation mode; an error
 *            shows as N/A
 *   251      (nvmlDevice_t, unsigned mode): `nvidia-smi -pm` sets persistence
 *            mode here; a session cannot change its GPU's modes
 * Every other slot answers success (nvidia-smi gives up on some views at
 * an error) and, when its first argument is a device handle, a zero count
 * through the second: a count left as the caller's room makes nvidia-smi
 * walk entries nobody wrote. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "devices.h"
#include "log.h"
#include "remote.h"
#include "xtables.h"

/* One entry of the process lists. */
typedef struct {
    uint32_t pid;
    uint64_t used_memory;
    uint32_t gpu_instance, compute_instance; /* 0xFFFFFFFF: no MIG */
    uint64_t cc_protected_memory;
    char name[4096];
} rm_smi_process_t;

_Static_assert(offsetof(rm_smi_process_t, used_memory) == 8 && offsetof(rm_smi_process_t, name) == 32 &&
                   sizeof(rm_smi_process_t) == 4128,
               "nvidia-smi's process entry is 4128 bytes, its name at 32");

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device);
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int *count,
                                                     nvmlProcessInfo_t *infos);
nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v3(nvmlDevice_t device, unsigned int *count,
                                                      nvmlProcessInfo_t *infos);
nvmlReturn_t nvmlDeviceGetMPSComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int *count,
                                                        nvmlProcessInfo_t *infos);
nvmlReturn_t nvmlDeviceGetMaxPcieLinkGeneration(nvmlDevice_t device, unsigned int *maxLinkGen);
nvmlReturn_t nvmlSystemGetProcessName(unsigned int pid, char *name, unsigned int length);

typedef nvmlReturn_t (*list_fn)(nvmlDevice_t, unsigned int *, nvmlProcessInfo_t *);

static int ours(nvmlDevice_t d)
{
    int i;
    return rm_nvml_link() && rm_nvml_device_index(d, &i) == 0;
}

nvmlReturn_t rm_nvml_smi_handle_by_index(unsigned int index, nvmlDevice_t *out)
{
    return nvmlDeviceGetHandleByIndex_v2(index, out);
}

static nvmlReturn_t process_list(list_fn list, nvmlDevice_t d, unsigned int *count, rm_smi_process_t *out)
{
    if (!count || !out)
        return NVML_ERROR_INVALID_ARGUMENT;
    nvmlProcessInfo_t p[RM_NVML_LIST_MAX];
    unsigned n = *count < RM_NVML_LIST_MAX ? *count : RM_NVML_LIST_MAX;
    nvmlReturn_t r = list(d, &n, p);
    if (r == NVML_ERROR_INSUFFICIENT_SIZE)
        *count = n;
    if (r != NVML_SUCCESS)
        return r;
    for (unsigned i = 0; i < n; i++) {
        rm_smi_process_t *e = &out[i];
        memset(e, 0, sizeof *e);
        e->pid = p[i].pid;
        e->used_memory = p[i].usedGpuMemory;
        e->gpu_instance = p[i].gpuInstanceId;
        e->compute_instance = p[i].computeInstanceId;
        if (nvmlSystemGetProcessName(p[i].pid, e->name, sizeof e->name) != NVML_SUCCESS)
            e->name[0] = '\0';
    }
    *count = n;
    return NVML_SUCCESS;
}

nvmlReturn_t rm_nvml_smi_compute_processes(nvmlDevice_t d, unsigned int *count, rm_smi_process_t *out)
{
    return process_list(nvmlDeviceGetComputeRunningProcesses_v3, d, count, out);
}

nvmlReturn_t rm_nvml_smi_graphics_processes(nvmlDevice_t d, unsigned int *count, rm_smi_process_t *out)
{
    return process_list(nvmlDeviceGetGraphicsRunningProcesses_v3, d, count, out);
}

nvmlReturn_t rm_nvml_smi_mps_processes(nvmlDevice_t d, unsigned int *count, rm_smi_process_t *out)
{
    return process_list(nvmlDeviceGetMPSComputeRunningProcesses_v3, d, count, out);
}

nvmlReturn_t rm_nvml_smi_host_max_link_gen(nvmlDevice_t d, unsigned int *gen)
{
    return nvmlDeviceGetMaxPcieLinkGeneration(d, gen);
}

nvmlReturn_t rm_nvml_smi_sparse_mode(nvmlDevice_t d, unsigned int *mode)
{
    if (!rm_nvml_link())
        return NVML_ERROR_UNINITIALIZED;
    return ours(d) && mode ? NVML_ERROR_NOT_SUPPORTED : NVML_ERROR_INVALID_ARGUMENT;
}

nvmlReturn_t rm_nvml_smi_set_persistence(nvmlDevice_t d, unsigned int mode)
{
    static int warned;
    (void)mode;
    if (!rm_nvml_link())
        return NVML_ERROR_UNINITIALIZED;
    if (!ours(d))
        return NVML_ERROR_INVALID_ARGUMENT;
    if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
        RM_WARN("nvml: a remora session cannot change its GPU's persistence mode (NVML_ERROR_NO_PERMISSION)");
    return NVML_ERROR_NO_PERMISSION;
}

#define LOGGED_SLOTS 1024

nvmlReturn_t rm_nvml_xt_unknown(const rm_nvml_xtable_t *t, unsigned index, uint64_t a0, uint64_t a1, uint64_t a2,
                                uint64_t a3)
{
    static unsigned char logged[LOGGED_SLOTS];
    if (index >= LOGGED_SLOTS || !__atomic_exchange_n(&logged[index], 1, __ATOMIC_RELAXED))
        RM_INFO("nvml: %s table [%u](%#llx, %#llx, %#llx, %#llx): not studied, answered with success", t->name,
                index, (unsigned long long)a0, (unsigned long long)a1, (unsigned long long)a2,
                (unsigned long long)a3);
    if (ours((nvmlDevice_t)(uintptr_t)a0) && a1 >= 4096) /* a pointer, not a small value */
        *(unsigned int *)(uintptr_t)a1 = 0;
    return NVML_SUCCESS;
}

RM_EXPORT nvmlReturn_t nvmlInternalGetExportTable(const void **table, const void *id)
{
    if (!table || !id)
        return NVML_ERROR_INVALID_ARGUMENT;
    for (unsigned i = 0; i < rm_nvml_xtable_count; i++)
        if (memcmp(rm_nvml_xtables[i].uuid, id, 16) == 0) {
            *table = rm_nvml_xtables[i].rows;
            return NVML_SUCCESS;
        }
    char hex[33];
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", ((const unsigned char *)id)[i]);
    RM_WARN_LIMITED("nvml: nvmlInternalGetExportTable(%s) is not supported by remora", hex);
    *table = NULL;
    return NVML_ERROR_NOT_SUPPORTED;
}
