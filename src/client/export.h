/* Marks the functions the client library exports (everything else is
 * hidden; src/client/libcuda.map lists the exported name patterns). */
#ifndef RM_EXPORT_H
#define RM_EXPORT_H

#define RM_EXPORT __attribute__((visibility("default")))

#endif
