/* nvmlSystemGetProcessName, answered in the client: the processes remora's
 * NVML lists are the session's client process, which runs on this machine
 * (the server's /proc would not know it). The name is the program's path
 * as it was started (its first argument), else the kernel's short name. */
#include <stdio.h>
#include <string.h>

#include "devices.h"
#include "remote.h"

/* The first NUL- or newline-ended string of path into buf; 0 if there is
 * a non-empty one. */
static int first_string(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    return buf[0] ? 0 : -1;
}

RM_EXPORT nvmlReturn_t nvmlSystemGetProcessName(unsigned int pid, char *name, unsigned int length)
{
    if (!rm_nvml_link())
        return NVML_ERROR_UNINITIALIZED;
    if (!name || !length)
        return NVML_ERROR_INVALID_ARGUMENT;
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%u/cmdline", pid);
    if (first_string(path, buf, sizeof buf) != 0) {
        snprintf(path, sizeof path, "/proc/%u/comm", pid);
        if (first_string(path, buf, sizeof buf) != 0)
            return NVML_ERROR_NOT_FOUND;
    }
    snprintf(name, length, "%s", buf); /* cut to the caller's room, as NVML does */
    return NVML_SUCCESS;
}
