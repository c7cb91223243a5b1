/* Module image sizes (see image.h). */
#include "image.h"

#include <elf.h>
#include <stdint.h>
#include <string.h>

#define FATBIN_MAGIC 0xBA55ED50u
#define FATBIN_WRAPPER_MAGIC 0x466243B1u

typedef struct {
    uint32_t magic, version;
    const void *data;
    const void *filename_or_fatbins;
} fatbin_wrapper_t;

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

const void *rm_image_unwrap(const void *p)
{
    fatbin_wrapper_t w;
    memcpy(&w, p, sizeof w.magic);
    if (w.magic != FATBIN_WRAPPER_MAGIC)
        return p;
    memcpy(&w, p, sizeof w);
    return w.data;
}

size_t rm_image_size(const void *p, size_t avail)
{
    uint32_t magic;
    if (avail >= sizeof magic && (memcpy(&magic, p, sizeof magic), magic == FATBIN_WRAPPER_MAGIC))
        return 0;
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
