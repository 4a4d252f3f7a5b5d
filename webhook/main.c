/* gwhook: subcommand dispatch only. */
#include <stdio.h>
#include <string.h>

#include "cel.h"
#include "cmd_certs.h"
#include "cmd_serve.h"
#include "cmd_validate.h"
#include "schema.h"
#include "util.h"

#ifndef GATECHECK_VERSION
#define GATECHECK_VERSION "0.1.0-dev"
#endif

static const char usage_text[] =
    "usage: gwhook <command> [options]\n"
    "\n"
    "Gateway API admission checks: the API server's own validation of every\n"
    "gateway.networking.k8s.io kind (Gateway API v1.6), plus strict checks.\n"
    "\n"
    "commands:\n"
    "  certs                create or renew the webhook's CA and serving certificate\n"
    "  serve                the admission webhook: HTTPS /validate and /mutate\n"
    "  validate PATH...|-   validate YAML/JSON files offline (for CI pipelines)\n"
    "  version              print the version\n"
    "\n"
    "Run 'gwhook <command> --help' for a command's options.\n";

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
};

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("gwhook %s (Gateway API v1.6 rules)\n", GATECHECK_VERSION);
    return 0;
}

static const struct command commands[] = {
    {"certs", cmd_certs},
    {"serve", cmd_serve},
    {"validate", cmd_validate},
    {"version", cmd_version},
};

int main(int argc, char **argv)
{
    size_t i;

    util_init_cjson();
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (i = 0; i < ARRAY_SIZE(commands); i++) {
        if (!strcmp(argv[1], commands[i].name)) {
            int rc = commands[i].run(argc - 1, argv + 1);

            schema_shutdown();
            rx_shutdown();
            return rc;
        }
    }
    fprintf(stderr, "error: unknown command '%s'\n%s", argv[1], usage_text);
    return 2;
}
