/* Layouts of the structured blobs that some calls carry (device facts,
 * function layouts, launch dimensions), shared by client and server. */
#ifndef RM_WIRE_TYPES_H
#define RM_WIRE_TYPES_H

#include <cuda.h>
#include <stdint.h>

/* device_info reply: everything the client answers locally afterwards. */
typedef struct {
    char name[256];
    uint8_t uuid[16];
    uint64_t total_mem;
    int32_t attrs[CU_DEVICE_ATTRIBUTE_MAX];
} rm_device_info_t;

/* host_func_wait's outcome (proto/cuda.spec). */
enum { RM_GATE_REACHED = 0, RM_GATE_CAPTURED = 1, RM_GATE_REFUSED = 2 };

/* The most graph nodes one call names (a node's dependencies), each sent
 * as its u64 handle. */
#define RM_MAX_GNODES 256

/* module_get_function / library_get_kernel reply: function attributes and
 * parameter layout (learned with cuFuncGetParamInfo), cached by the client. */
#define RM_MAX_PARAMS 1024
typedef struct {
    uint32_t offset, size;
} rm_param_t;

typedef struct {
    int32_t attrs[CU_FUNC_ATTRIBUTE_MAX];
    uint32_t nparams;
    uint32_t param_bytes; /* size of the packed parameter buffer */
    rm_param_t params[];  /* nparams entries */
} rm_func_layout_t;

/* mem_pool_set/get_attribute carry a u64; the attribute's own value is an
 * int for the REUSE_* attributes and a cuuint64_t for the others. */
static inline int rm_pool_attr_is_int(int attr)
{
    return attr == CU_MEMPOOL_ATTR_REUSE_FOLLOW_EVENT_DEPENDENCIES || attr == CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC ||
           attr == CU_MEMPOOL_ATTR_REUSE_ALLOW_INTERNAL_DEPENDENCIES;
}

/* tensor_map_encode request: the arguments of cuTensorMapEncodeTiled
 * (kind RM_TMAP_TILED: box_dim), cuTensorMapEncodeIm2col (RM_TMAP_IM2COL:
 * the pixel box corners, rank - 2 each, channels and pixels) or
 * cuTensorMapEncodeIm2colWide (RM_TMAP_IM2COL_WIDE: the corners' widths in
 * lower[0] and upper[0], and wide_mode). */
enum { RM_TMAP_TILED, RM_TMAP_IM2COL, RM_TMAP_IM2COL_WIDE };
typedef struct {
    uint32_t kind, data_type, rank, interleave, swizzle, l2_promotion, oob_fill;
    uint64_t global_address;
    uint64_t global_dim[5];
    uint64_t global_strides[4];
    uint32_t box_dim[5];
    uint32_t element_strides[5];
    int32_t lower[3], upper[3];
    uint32_t channels_per_pixel, pixels_per_column, wide_mode;
} rm_tensor_map_args_t;

#endif
