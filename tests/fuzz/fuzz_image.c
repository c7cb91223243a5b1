/* Fuzz target: a module image as the server receives it (fatbin, ELF
 * cubin, PTX text), through the size check that runs before the driver
 * reads it. The image sits in a block of exactly its size; a size within
 * what arrived must be at least a header's. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);
    size_t n = rm_image_size(p, size);
    if (n != 0 && n <= size && memcmp(p, "\x7f" "ELF", size < 4 ? size : 4) == 0 && size >= 64 && n < 64)
        abort(); /* an ELF image smaller than its own header */
    free(p);
    return 0;
}
