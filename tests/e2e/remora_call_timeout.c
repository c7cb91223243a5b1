/* REMORA_CALL_TIMEOUT: a server stopped (SIGSTOP) after the handshake. The
 * call waiting for its reply fails with CUDA_ERROR_TIMEOUT once the deadline
 * passes, every later call of the thread with CUDA_ERROR_DEVICE_UNAVAILABLE
 * (the channel is closed). Without the deadline the call would wait forever:
 * an alarm ends the program then (after resuming the server). Needs the
 * server's pid (RM_SERVER_PID, from with_server.sh); its session workers are
 * the processes stopped. */
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define HANG_LIMIT_S 30 /* far above the 2 s deadline: only a hang gets here */

static pid_t workers[64];
static int nworkers;

/* The server's children: its session workers (this program's is among them). */
static void find_workers(pid_t server)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)server, (int)server);
    FILE *f = fopen(path, "r");
    RM_EXPECT(f, "cannot read %s", path);
    int pid;
    while (nworkers < 64 && fscanf(f, "%d", &pid) == 1)
        workers[nworkers++] = (pid_t)pid;
    fclose(f);
    RM_EXPECT(nworkers > 0, "the server has no session worker");
}

static void signal_workers(int sig)
{
    for (int i = 0; i < nworkers; i++)
        kill(workers[i], sig);
}

/* kill() returns before the target has stopped: wait until it has ('T' in
 * /proc/PID/stat), or a reply could still slip out. */
static int stopped(pid_t pid)
{
    char path[64], state = 0;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 1; /* gone counts as silent */
    int ok = fscanf(f, "%*d %*s %c", &state) == 1;
    fclose(f);
    return !ok || state == 'T' || state == 't';
}

static void stop_workers(void)
{
    signal_workers(SIGSTOP);
    for (int i = 0; i < nworkers; i++)
        while (!stopped(workers[i]))
            usleep(1000);
}

static void resume_workers(void) { signal_workers(SIGCONT); }

static void on_alarm(int sig)
{
    (void)sig;
    signal_workers(SIGCONT);
    static const char msg[] = "FAIL remora_call_timeout: the call still waits after the hang limit\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(1);
}

int main(void)
{
    const char *server = getenv("RM_SERVER_PID");
    if (!rm_test_is_remora() || !server || !*server) {
        printf("PASS remora_call_timeout (skipped: needs remora-server started by with_server.sh)\n");
        return 0;
    }
    setenv("REMORA_CALL_TIMEOUT", "1", 1); /* raised to the minimum, 2 s */
    CUdevice dev;
    CUcontext ctx;
    CUdeviceptr d;
    rm_test_init(&dev, &ctx);
    unsigned char host[16];
    CK(cuMemAlloc(&d, 4096));
    CK(cuMemcpyDtoH(host, d, sizeof host)); /* the copy's set-up (shm staging) done before the stop */
    find_workers((pid_t)atoi(server));
    atexit(resume_workers); /* also when a check fails: the server must stop */
    signal(SIGALRM, on_alarm);
    alarm(HANG_LIMIT_S);
    stop_workers();
    CK_EXPECT(cuMemcpyDtoH(host, d, sizeof host), CUDA_ERROR_TIMEOUT);
    CK_EXPECT(cuCtxSynchronize(), CUDA_ERROR_DEVICE_UNAVAILABLE);
    alarm(0);
    printf("PASS remora_call_timeout\n");
    return 0;
}
