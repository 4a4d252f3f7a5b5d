/* `gwhook serve`: the admission webhook server (see --help). */
#ifndef GC_CMD_SERVE_H
#define GC_CMD_SERVE_H

/* Returns the exit status: 0 clean shutdown, 1 runtime failure, 2 usage. */
int cmd_serve(int argc, char **argv);

#endif
