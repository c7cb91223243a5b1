/* Marks the functions the client library exports (everything else is
 * hidden; src/client/libcuda.map lists the exported name patterns), and
 * names the implementations of driver entry points.
 *
 * A driver entry point cuX is written as RM_IMPL(cuX), a hidden function
 * rm_impl_cuX; the exported cuX itself is generated (gen/rm_trace.c, from
 * the implementation's prototype, which proto/gen.py reads from the
 * source) and calls it, through the tracer when REMORA_TRACE is set
 * (trace.h). Pasting keeps cuda.h's macros (cuMemAlloc -> cuMemAlloc_v2)
 * out of the name: RM_IMPL(cuMemAlloc) is the legacy ABI's own entry. */
#ifndef RM_EXPORT_H
#define RM_EXPORT_H

#define RM_EXPORT __attribute__((visibility("default")))
#define RM_IMPL(name) rm_impl_##name

#endif
