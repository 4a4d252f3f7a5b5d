/* `gwhook certs`: create or renew the webhook's CA and serving certificate (see --help). */
#ifndef GC_CMD_CERTS_H
#define GC_CMD_CERTS_H

/* Returns the exit status: 0 done, 1 failure (message on stderr), 2 usage error. */
int cmd_certs(int argc, char **argv);

#endif
