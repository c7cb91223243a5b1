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

/* a + b * c, or SIZE_MAX when that overflows (more than any image). */
static size_t end_of(uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t bc, sum;
    if (__builtin_mul_overflow(b, c, &bc) || __builtin_add_overflow(a, bc, &sum) || sum > SIZE_MAX)
        return SIZE_MAX;
    return (size_t)sum;
}

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

/* How far an ELF image reaches: its header tables and, once those are
 * within avail, every section's and segment's contents. A table whose
 * entries are smaller than the format's, or an end that overflows, is
 * SIZE_MAX: never within what arrived. */
static size_t elf_size(const uint8_t *p, size_t avail)
{
    Elf64_Ehdr e;
    memcpy(&e, p, sizeof e);
    if ((e.e_shnum && e.e_shentsize < sizeof(Elf64_Shdr)) || (e.e_phnum && e.e_phentsize < sizeof(Elf64_Phdr)))
        return SIZE_MAX;
    size_t sh = end_of(e.e_shoff, e.e_shnum, e.e_shentsize), ph = end_of(e.e_phoff, e.e_phnum, e.e_phentsize);
    size_t size = max_size(max_size(sh, ph), sizeof e);
    if (size > avail)
        return size;
    for (unsigned i = 0; i < e.e_shnum; i++) {
        Elf64_Shdr h;
        memcpy(&h, p + e.e_shoff + (size_t)i * e.e_shentsize, sizeof h);
        if (h.sh_type != SHT_NOBITS)
            size = max_size(size, end_of(h.sh_offset, 1, h.sh_size));
    }
    for (unsigned i = 0; i < e.e_phnum; i++) {
        Elf64_Phdr h;
        memcpy(&h, p + e.e_phoff + (size_t)i * e.e_phentsize, sizeof h);
        size = max_size(size, end_of(h.p_offset, 1, h.p_filesz));
    }
    return size;
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
        return elf_size(p, avail);
    }
    size_t n = strnlen(p, avail); /* PTX, or any text image */
    return n < avail ? n + 1 : 0;
}
