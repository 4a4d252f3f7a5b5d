/* HTTPRouteWeight's distribution check (include/scenario.h). Pure. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "util.h"

char *conf_weight_backend(const char *pod)
{
    const char *end = pod + strlen(pod);
    int cut = 0;

    while (end > pod && cut < 2) {
        end--;
        if (*end == '-')
            cut++;
    }
    return cut == 2 ? xstrndup(pod, (size_t)(end - pod)) : xstrdup(pod);
}

int conf_weights_judge(const struct conf_weight *w, size_t nw, char *const *pods, size_t npods,
                       double tolerance, char **why)
{
    size_t *count = xcalloc(nw ? nw : 1, sizeof(*count)), i, j;
    struct sbuf sb = {0};
    int ok = 1;

    *why = NULL;
    for (i = 0; i < npods && ok; i++) {
        char *b = conf_weight_backend(pods[i] ? pods[i] : "");

        for (j = 0; j < nw && strcmp(w[j].backend, b) != 0; j++)
            ;
        if (j == nw || w[j].weight <= 0) {
            sb_printf(&sb, "request %zu went to %s (pod %s), which %s", i + 1, b,
                      pods[i] ? pods[i] : "(none)",
                      j == nw ? "is not among the route's backends" : "has weight 0");
            ok = 0;
        } else {
            count[j]++;
        }
        free(b);
    }
    /* first the set of backends (upstream compares the sets), then the shares */
    for (j = 0; j < nw && ok; j++)
        if (w[j].weight > 0 && count[j] == 0) {
            sb_printf(&sb, "no request went to %s (weight %.2f)", w[j].backend, w[j].weight);
            ok = 0;
        }
    for (j = 0; j < nw && ok; j++) {
        double share = npods ? (double)count[j] / (double)npods : 0;

        if (fabs(share - w[j].weight) > tolerance) {
            sb_printf(&sb, "%s got %.3f of %zu requests, expected %.2f +/- %.2f", w[j].backend,
                      share, npods, w[j].weight, tolerance);
            ok = 0;
        }
    }
    free(count);
    if (!ok)
        *why = sb_detach(&sb);
    sb_release(&sb);
    return ok;
}
