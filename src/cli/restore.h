/* remora restore: recreate a checkpointed session in a (fresh) server, for
 * its client to join. */
#ifndef RM_CLI_RESTORE_H
#define RM_CLI_RESTORE_H

/* argv[0] is "restore". 0 on success; 1 when the server refuses (said on
 * stderr); 2 for a usage error. */
int rm_cli_restore(int argc, char **argv);

#endif
