/* e2e: device queries — driver version, device count, name, UUID, memory,
 * attributes (and an invalid one), primary context state. Everything printed on
 * stdout is a fact of the device, identical natively and through remora. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

static int attribute(CUdevice dev, CUdevice_attribute a)
{
    int v = -1;
    CK(cuDeviceGetAttribute(&v, a, dev));
    return v;
}

static void print_attributes(CUdevice dev)
{
    static const struct {
        CUdevice_attribute attr;
        const char *name;
    } attrs[] = {
        {CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, "cc_major"},
        {CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, "cc_minor"},
        {CU_DEVICE_ATTRIBUTE_WARP_SIZE, "warp_size"},
        {CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, "sm_count"},
        {CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, "max_threads_per_block"},
        {CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X, "max_block_dim_x"},
        {CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X, "max_grid_dim_x"},
        {CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK, "max_shared_per_block"},
        {CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY, "total_constant_memory"},
        {CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING, "unified_addressing"},
        {CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY, "can_map_host_memory"},
        {CU_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS, "concurrent_kernels"},
        {CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH, "memory_bus_width"},
        {CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE, "l2_cache_size"},
        {CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, "pci_bus_id"},
    };
    for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++)
        printf("attr %s %d\n", attrs[i].name, attribute(dev, attrs[i].attr));

    RM_EXPECT(attribute(dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR) > 0, "cc major");
    RM_EXPECT(attribute(dev, CU_DEVICE_ATTRIBUTE_WARP_SIZE) == 32, "warp size");
    RM_EXPECT(attribute(dev, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK) >= 256, "max threads");
}

static void print_uuid(CUdevice dev)
{
    CUuuid uuid;
    static const CUuuid zero;
    CK(cuDeviceGetUuid(&uuid, dev));
    RM_EXPECT(memcmp(&uuid, &zero, sizeof uuid) != 0, "device UUID is all zero");
    printf("uuid ");
    for (size_t i = 0; i < sizeof uuid.bytes; i++)
        printf("%02x", (unsigned char)uuid.bytes[i]);
    printf("\n");
}

static void check_invalid_attribute(CUdevice dev)
{
    int v = 0;
    /* Far beyond any attribute a driver defines (CU_DEVICE_ATTRIBUTE_MAX grows
     * with driver versions, so a newer driver may know values past the header's). */
    CK_EXPECT(cuDeviceGetAttribute(&v, (CUdevice_attribute)100000, dev), CUDA_ERROR_INVALID_VALUE);
}

/* Retaining the primary context makes it active, the last release inactive
 * again; flags set are the flags reported (remora answers the state from
 * what it knows, so each change must show). */
static void check_primary_ctx_state(CUdevice dev)
{
    unsigned flags = 0;
    int active = -1;
    CK(cuDevicePrimaryCtxGetState(dev, &flags, &active));
    RM_EXPECT(active == 0, "primary context active before retain (%d)", active);

    CUcontext ctx, current = NULL;
    CK(cuDevicePrimaryCtxRetain(&ctx, dev));
    CK(cuDevicePrimaryCtxGetState(dev, &flags, &active));
    RM_EXPECT(active == 1, "primary context not active after retain (%d)", active);
    CK(cuCtxSetCurrent(ctx));
    CK(cuCtxGetCurrent(&current));
    RM_EXPECT(current == ctx, "current context is not the primary context");
    CK(cuCtxSetCurrent(NULL));
    CK(cuDevicePrimaryCtxRelease(dev));
    CK(cuDevicePrimaryCtxGetState(dev, &flags, &active));
    RM_EXPECT(active == 0, "primary context active after its last release (%d)", active);
    unsigned was = flags;
    CK(cuDevicePrimaryCtxSetFlags(dev, CU_CTX_SCHED_BLOCKING_SYNC));
    CK(cuDevicePrimaryCtxGetState(dev, &flags, &active));
    RM_EXPECT((flags & CU_CTX_SCHED_MASK) == CU_CTX_SCHED_BLOCKING_SYNC, "flags %#x after setting them", flags);
    CK(cuDevicePrimaryCtxSetFlags(dev, was));
    CK(cuDevicePrimaryCtxGetState(dev, &flags, &active));
    RM_EXPECT(flags == was && active == 0, "flags %#x, active %d after restoring them", flags, active);
    printf("primary_ctx active_after_retain 1, inactive after release, flags as set\n");
}

int main(void)
{
    CK(cuInit(0));

    int version = 0, count = 0;
    CK(cuDriverGetVersion(&version));
    RM_EXPECT(version >= 12000, "driver version %d", version);
    printf("driver_version %d\n", version);
    CK(cuDeviceGetCount(&count));
    RM_EXPECT(count >= 1, "device count %d", count);
    printf("device_count %d\n", count);

    CUdevice dev;
    char name[256];
    size_t total = 0;
    CK(cuDeviceGet(&dev, 0));
    CK(cuDeviceGetName(name, sizeof name, dev));
    RM_EXPECT(name[0] != '\0', "empty device name");
    printf("name %s\n", name);
    print_uuid(dev);
    CK(cuDeviceTotalMem(&total, dev));
    RM_EXPECT(total >= (64u << 20), "total memory %zu", total);
    printf("total_mem %zu\n", total);

    print_attributes(dev);
    check_invalid_attribute(dev);
    check_primary_ctx_state(dev);
    rm_pass("device_query");
    return 0;
}
