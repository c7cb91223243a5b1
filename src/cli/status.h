/* remora status: the sessions of a running remora server. */
#ifndef RM_CLI_STATUS_H
#define RM_CLI_STATUS_H

/* argv[0] is "status". 0 after printing them; 1 when the server cannot be
 * reached or refuses (said on stderr); 2 for a usage error. */
int rm_cli_status(int argc, char **argv);

#endif
