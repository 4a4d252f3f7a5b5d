/* gwconform: the conformance runner (issue 5). */
#include <stdio.h>
#include <string.h>

#include "util.h"

static const char usage_text[] =
    "usage: gwconform run [options] | gwconform list | gwconform version\n"
    "\n"
    "Apply Gateway API conformance scenarios to a cluster, send requests to the\n"
    "gateway under test, judge the answers as upstream's suite does, and write\n"
    "junit_01.xml and a ConformanceReport.\n";

int main(int argc, char **argv)
{
    util_init_cjson();
    if (argc >= 2 && !strcmp(argv[1], "version")) {
        printf("gwconform %s\n", GATECHECK_VERSION);
        return 0;
    }
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        fputs(usage_text, stdout);
        return 0;
    }
    fputs(usage_text, stderr);
    fputs("error: not yet implemented (issue 5 in progress)\n", stderr);
    return 2;
}
