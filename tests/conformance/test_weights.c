/* HTTPRouteWeight's distribution check (conformance/weights.c; spec
   conformance.md §1.9 "Weighted distribution"): pod names to backends, the
   exact cover of the weighted backends, and the tolerance. */
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "scenario.h"
#include "util.h"

static void test_backend(void)
{
    static const struct {
        const char *pod, *want;
    } rows[] = {
        {"infra-backend-v1-7d9f8c6b5-x2k4q", "infra-backend-v1"},
        {"web-backend-5c4d7-abcde", "web-backend"},
        {"a-b", "a-b"}, /* fewer than two '-': kept whole */
        {"", ""},
    };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(rows); i++) {
        char *got = conf_weight_backend(rows[i].pod);

        is_str(got, rows[i].want, "backend of a pod name (upstream drops the last two segments)");
        free(got);
    }
}

/* n1 pods of v1, n2 of v2, n3 of v3, nx of a stranger */
static char b1[] = "infra-backend-v1", b2[] = "infra-backend-v2", b3[] = "infra-backend-v3";
static char p1[] = "infra-backend-v1-abc-12345", p2[] = "infra-backend-v2-abc-12345",
            p3[] = "infra-backend-v3-abc-12345", px[] = "other-backend-abc-12345";

static int judge(int n1, int n2, int n3, int nx, double w3, char **why)
{
    struct conf_weight w[] = {{b1, 0.7}, {b2, 0.3 - w3}, {b3, w3}};
    char **pods = xcalloc((size_t)(n1 + n2 + n3 + nx + 1), sizeof(*pods));
    int i, n = 0, ok;

    for (i = 0; i < n1; i++)
        pods[n++] = p1;
    for (i = 0; i < n2; i++)
        pods[n++] = p2;
    for (i = 0; i < n3; i++)
        pods[n++] = p3;
    for (i = 0; i < nx; i++)
        pods[n++] = px;
    ok = conf_weights_judge(w, ARRAY_SIZE(w), pods, (size_t)n, 0.05, why);
    free(pods);
    return ok;
}

static void test_judge(void)
{
    static const struct {
        int n1, n2, n3, nx;
        double w3;
        int want;
        const char *why;
    } rows[] = {
        {350, 150, 0, 0, 0, 1, NULL}, /* exactly 70/30 */
        {370, 130, 0, 0, 0, 1, NULL}, /* 0.74/0.26: within 0.05 */
        {380, 120, 0, 0, 0, 0,
         "infra-backend-v1 got 0.760 of 500 requests, expected 0.70 +/- 0.05"},
        {500, 0, 0, 0, 0, 0, "no request went to infra-backend-v2"},
        {349, 150, 1, 0, 0, 0, "which has weight 0"},
        {349, 150, 0, 1, 0, 0, "is not among the route's backends"},
        {350, 100, 50, 0, 0.1, 1, NULL}, /* a third weighted backend */
    };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(rows); i++) {
        char *why = NULL;
        int got = judge(rows[i].n1, rows[i].n2, rows[i].n3, rows[i].nx, rows[i].w3, &why);

        ok(got == rows[i].want && (rows[i].want || (why && strstr(why, rows[i].why))),
           "weights row %zu: %s", i, rows[i].want ? "passes" : rows[i].why);
        if (got != rows[i].want || (!rows[i].want && !(why && strstr(why, rows[i].why))))
            printf("#   got %d: %s\n", got, why ? why : "(no reason)");
        free(why);
    }
}

int main(void)
{
    test_backend();
    test_judge();
    return done_testing();
}
