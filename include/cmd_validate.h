/* `gwhook validate`: offline validation of files (see --help). */
#ifndef GC_CMD_VALIDATE_H
#define GC_CMD_VALIDATE_H

/* Returns the exit status: 0 all valid, 1 some invalid, 2 usage or I/O error. */
int cmd_validate(int argc, char **argv);

#endif
