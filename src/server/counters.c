/* Shared per-session counters (counters.h). */
#include "counters.h"

#include <sys/mman.h>

rm_counters_t *rm_counters_map(size_t n)
{
    void *p = mmap(NULL, n * sizeof(rm_counters_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p; /* anonymous mappings start zeroed */
}
