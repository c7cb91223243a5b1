/* remora migrate: move a running session to another server. */
#ifndef RM_CLI_MIGRATE_H
#define RM_CLI_MIGRATE_H

/* argv[0] is "migrate". 0 on success; 1 when a server refuses or the
 * migration fails (said on stderr; the session then runs on where it
 * was); 2 for a usage error. */
int rm_cli_migrate(int argc, char **argv);

#endif
