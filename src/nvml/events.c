/* NVML event sets, answered in the client: remora reports no GPU events
 * (Xid errors, clock changes, power-state changes...), so a set is a thing
 * to wait on that never fires. nvidia-smi creates one at start and stops
 * with "Internal NVML error" when it cannot; a monitor that waits on it
 * sees a timeout each time, as on a GPU where nothing happens. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "devices.h"
#include "remote.h"

typedef struct nvmlEventSet_st *nvmlEventSet_t;

#define SET_MAGIC 0x72656d6f72614553ull /* "remoraES" */
#define WAIT_MAX_MS 1000u /* one wait sleeps no longer: the caller loops */

struct nvmlEventSet_st {
    uint64_t magic;
};

static int is_set(nvmlEventSet_t set) { return set && set->magic == SET_MAGIC; }

RM_EXPORT nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t *set)
{
    if (!rm_nvml_link())
        return NVML_ERROR_UNINITIALIZED;
    if (!set)
        return NVML_ERROR_INVALID_ARGUMENT;
    nvmlEventSet_t s = malloc(sizeof *s);
    if (!s)
        return NVML_ERROR_MEMORY;
    s->magic = SET_MAGIC;
    *set = s;
    return NVML_SUCCESS;
}

RM_EXPORT nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set)
{
    if (!is_set(set))
        return NVML_ERROR_INVALID_ARGUMENT;
    set->magic = 0;
    free(set);
    return NVML_SUCCESS;
}

/* No event type is delivered: the device supports none of them. */
RM_EXPORT nvmlReturn_t nvmlDeviceGetSupportedEventTypes(nvmlDevice_t device, unsigned long long *eventTypes)
{
    int index;
    if (!rm_nvml_link())
        return NVML_ERROR_UNINITIALIZED;
    if (!eventTypes || rm_nvml_device_index(device, &index) != 0)
        return NVML_ERROR_INVALID_ARGUMENT;
    *eventTypes = 0;
    return NVML_SUCCESS;
}

/* Registering is accepted (nothing will come): what NVML does for a GPU
 * that never raises the events asked for. */
RM_EXPORT nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t device, unsigned long long eventTypes,
                                                nvmlEventSet_t set)
{
    int index;
    (void)eventTypes;
    if (!rm_nvml_link())
        return NVML_ERROR_UNINITIALIZED;
    if (!is_set(set) || rm_nvml_device_index(device, &index) != 0)
        return NVML_ERROR_INVALID_ARGUMENT;
    return NVML_SUCCESS;
}

static nvmlReturn_t wait_nothing(nvmlEventSet_t set, const void *data, unsigned timeoutms)
{
    if (!is_set(set) || !data)
        return NVML_ERROR_INVALID_ARGUMENT;
    unsigned ms = timeoutms < WAIT_MAX_MS ? timeoutms : WAIT_MAX_MS;
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
    return NVML_ERROR_TIMEOUT;
}

RM_EXPORT nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, void *data, unsigned timeoutms)
{
    return wait_nothing(set, data, timeoutms);
}

RM_EXPORT nvmlReturn_t nvmlEventSetWait(nvmlEventSet_t set, void *data, unsigned timeoutms)
{
    return wait_nothing(set, data, timeoutms);
}
