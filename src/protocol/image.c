/* Module image sizes (see image.h). */
#include "image.h"

#include <elf.h>
#include <stdint.h>
#include <string.h>

#define FATBIN_MAGIC 0xBA55ED50u

typedef struct {
    uint32_t magic;
    uint16_t version, header_size;
    uint64_t fat_size;
} fatbin_header_t;

static size_t elf_size(const Elf64_Ehdr *e)
{
    size_t sh = (size_t)e->e_shoff + (size_t)e->e_shnum * e->e_shentsize;
    size_t ph = (size_t)e->e_phoff + (size_t)e->e_phnum * e->e_phentsize;
    return sh > ph ? sh : ph;
}

size_t rm_image_size(const void *p, size_t avail)
{
    if (avail >= sizeof(fatbin_header_t)) {
        fatbin_header_t fb;
        memcpy(&fb, p, sizeof fb);
        if (fb.magic == FATBIN_MAGIC)
            return fb.fat_size > SIZE_MAX - fb.header_size ? SIZE_MAX : fb.header_size + fb.fat_size;
    }
    if (avail >= sizeof(Elf64_Ehdr) && memcmp(p, ELFMAG, SELFMAG) == 0) {
        Elf64_Ehdr e;
        memcpy(&e, p, sizeof e);
        return elf_size(&e);
    }
    size_t n = strnlen(p, avail); /* PTX, or any text image */
    return n < avail ? n + 1 : 0;
}
