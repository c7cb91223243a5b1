/* Client: unified addressing. Every device range the server hands out is
 * reserved in this process (PROT_NONE, whole 2 MiB granules, counted), so no
 * host mapping can ever land on a device address and the client tells device
 * from host pointers by address alone (DESIGN §3). */
#ifndef RM_CL_UVA_H
#define RM_CL_UVA_H

#include <stddef.h>
#include <stdint.h>

/* Reserve the granules of [p, p+n). -1 (nothing reserved) if part of the
 * range is host memory of this process: the address is ambiguous here. */
int rm_uva_reserve(uint64_t p, size_t n);
/* Drop one reservation of the granules of [p, p+n). */
void rm_uva_release(uint64_t p, size_t n);

#endif
