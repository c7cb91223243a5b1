/* The real NVML (nvml_backend.h), loaded as the real backend loads the
 * driver: by absolute path, skipping remora's own client library. */
#include <dlfcn.h>
#include <string.h>

#include "log.h"
#include "nvml_backend.h"

static const char *const nvml_search_path[] = {
    "/usr/local/nvidia/lib64/libnvidia-ml.so.1",
    "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1",
    "/usr/lib64/libnvidia-ml.so.1",
    "/usr/lib/libnvidia-ml.so.1",
};

rm_status rm_nvml_real_open(rm_nvml_api_t *api)
{
    memset(api, 0, sizeof *api);
    for (size_t i = 0; i < sizeof nvml_search_path / sizeof nvml_search_path[0]; i++) {
        const char *path = nvml_search_path[i];
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!h)
            continue;
        if (dlsym(h, "remora_nvml_client")) {
            RM_DEBUG("nvml: %s is remora's client, skipped", path);
            dlclose(h);
            continue;
        }
        for (size_t k = 0; k < rm_nvml_sym_count; k++)
            *(void **)((char *)api + rm_nvml_syms[k].offset) = dlsym(h, rm_nvml_syms[k].name);
        nvmlReturn_t r = api->nvmlInit_v2 ? api->nvmlInit_v2() : NVML_ERROR_FUNCTION_NOT_FOUND;
        if (r != NVML_SUCCESS || !api->nvmlDeviceGetHandleByIndex_v2) {
            RM_ERROR("nvml: %s does not initialise: %s", path, rm_nvml_error_string(r));
            memset(api, 0, sizeof *api);
            dlclose(h);
            return RM_ERR_NOT_FOUND;
        }
        RM_INFO("nvml: using %s", path);
        return RM_OK;
    }
    RM_ERROR("nvml: no libnvidia-ml.so.1 in the driver folders (/usr/local/nvidia/lib64, /usr/lib/x86_64-linux-gnu, ...)");
    return RM_ERR_NOT_FOUND;
}
