/* remora checkpoint: checkpoint a running session into a directory, or
 * check a checkpoint directory. */
#ifndef RM_CLI_CHECKPOINT_H
#define RM_CLI_CHECKPOINT_H

/* argv[0] is "checkpoint". 0 on success; 1 when the server refuses or the
 * checkpoint is bad (said on stderr); 2 for a usage error. */
int rm_cli_checkpoint(int argc, char **argv);

#endif
