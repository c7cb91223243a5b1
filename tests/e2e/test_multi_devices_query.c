/* e2e: what each device says about itself, one line per device (ordinal,
 * name, UUID, PCI bus id, memory), and that no two devices say the same:
 * names may repeat on real machines, UUIDs and bus ids never do. The bus id
 * string and the PCI attributes agree. multi_devices_visible.sh reads these
 * lines to check CUDA_VISIBLE_DEVICES on the server. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

enum { MAX_DEVICES = 64 };

int main(void)
{
    int count = 0;
    CUuuid uuid[MAX_DEVICES];
    char bus[MAX_DEVICES][32];
    CK(cuInit(0));
    CK(cuDeviceGetCount(&count));
    RM_EXPECT(count >= 1 && count <= MAX_DEVICES, "device count %d", count);
    printf("devices %d\n", count);
    for (int i = 0; i < count; i++) {
        CUdevice dev;
        char name[256];
        size_t mem;
        int domain, busno, slot;
        CK(cuDeviceGet(&dev, i));
        RM_EXPECT(dev == i, "cuDeviceGet(%d) gave %d", i, (int)dev);
        CK(cuDeviceGetName(name, sizeof name, dev));
        CK(cuDeviceGetUuid(&uuid[i], dev));
        CK(cuDeviceGetPCIBusId(bus[i], sizeof bus[i], dev));
        CK(cuDeviceTotalMem(&mem, dev));
        CK(cuDeviceGetAttribute(&domain, CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID, dev));
        CK(cuDeviceGetAttribute(&busno, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, dev));
        CK(cuDeviceGetAttribute(&slot, CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID, dev));
        unsigned pd, pb, ps, pf;
        RM_EXPECT(sscanf(bus[i], "%x:%x:%x.%x", &pd, &pb, &ps, &pf) == 4 && (int)pd == domain && (int)pb == busno &&
                      (int)ps == slot,
                  "device %d: bus id %s, attributes say %x:%x:%x", i, bus[i], domain, busno, slot);
        char u[40];
        const unsigned char *b = (const unsigned char *)uuid[i].bytes;
        snprintf(u, sizeof u, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
                 b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
        printf("device %d name %s uuid GPU-%s bus %s mem %zu\n", i, name, u, bus[i], mem);
        for (int j = 0; j < i; j++) {
            RM_EXPECT(memcmp(&uuid[i], &uuid[j], sizeof uuid[i]) != 0, "devices %d and %d share a UUID", j, i);
            RM_EXPECT(strcmp(bus[i], bus[j]) != 0, "devices %d and %d share bus %s", j, i, bus[i]);
        }
    }
    CUdevice none;
    CK_EXPECT(cuDeviceGet(&none, count), CUDA_ERROR_INVALID_DEVICE);
    rm_pass("multi_devices_query");
    return 0;
}
