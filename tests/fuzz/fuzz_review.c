/*
 * The whole review handler, bytes in, bytes out: the input is an HTTP body
 * sent to /validate and /mutate (include/review.h), judged with the default
 * configuration (cfg NULL) and with a strict one whose channel and bundle
 * the input's length picks. Seeds: the AdmissionReview cases of
 * tests/data/reviews/, and the objects of tests/data/rules/ and
 * tests/data/examples/ wrapped in reviews.
 *
 * Besides the sanitizers, what every answer must be (review.h): 200 or 400,
 * never 500 (the allocator aborts); a JSON object; a 400 is {"error": ...};
 * a 200 is an AdmissionReview whose response has the uid and allowed the
 * outcome says; /mutate never denies, and a patch (only from /mutate) comes
 * with patchType JSONPatch and is base64 of a JSON array of operations; a
 * denial has status.code >= 400.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fuzz.h"
#include "../../lib/kube_int.h"
#include "review.h"
#include "schema.h"

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* The patch is standard padded base64 (what the API server decodes) of a
   JSON array of add operations. */
static void check_patch(const char *b64)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
    char *json = NULL;
    size_t len = 0, n = strlen(b64);
    cJSON *ops, *op;

    FUZZ_CHECK(n % 4 == 0 && b64[strspn(b64, alphabet)] == '\0');
    FUZZ_CHECK(kube_b64_decode(b64, &json, &len) == 0 && json != NULL);
    ops = cJSON_Parse(json);
    FUZZ_CHECK(cJSON_IsArray(ops) && cJSON_GetArraySize(ops) > 0);
    cJSON_ArrayForEach(op, ops) {
        const cJSON *path = get(op, "path");

        FUZZ_CHECK(cJSON_IsString(get(op, "op")) && !strcmp(get(op, "op")->valuestring, "add"));
        FUZZ_CHECK(cJSON_IsString(path) && path->valuestring[0] == '/');
        FUZZ_CHECK(get(op, "value") != NULL);
    }
    cJSON_Delete(ops);
    free(json);
}

static void check(enum review_endpoint ep, int http, const char *out,
                  const struct review_outcome *oc)
{
    cJSON *doc;
    const cJSON *resp, *allowed, *status, *patch;

    FUZZ_CHECK(http == 200 || http == 400);
    FUZZ_CHECK(out != NULL);
    doc = cJSON_Parse(out);
    FUZZ_CHECK(cJSON_IsObject(doc));
    if (http == 400) {
        FUZZ_CHECK(cJSON_IsString(get(doc, "error")));
        FUZZ_CHECK(oc->code == 400);
        cJSON_Delete(doc);
        return;
    }
    FUZZ_CHECK(cJSON_IsString(get(doc, "apiVersion")));
    FUZZ_CHECK(cJSON_IsString(get(doc, "kind")) &&
               !strcmp(get(doc, "kind")->valuestring, "AdmissionReview"));
    resp = get(doc, "response");
    allowed = get(resp, "allowed");
    FUZZ_CHECK(cJSON_IsObject(resp) && cJSON_IsString(get(resp, "uid")));
    FUZZ_CHECK(cJSON_IsBool(allowed) && cJSON_IsTrue(allowed) == (oc->allowed != 0));
    status = get(resp, "status");
    if (!oc->allowed) {
        FUZZ_CHECK(ep == REVIEW_VALIDATE);
        FUZZ_CHECK(cJSON_IsNumber(get(status, "code")) && get(status, "code")->valueint >= 400);
    }
    patch = get(resp, "patch");
    FUZZ_CHECK((patch != NULL) == (oc->patched != 0));
    FUZZ_CHECK((patch != NULL) == (get(resp, "patchType") != NULL));
    if (patch) {
        FUZZ_CHECK(ep == REVIEW_MUTATE && cJSON_IsString(patch));
        FUZZ_CHECK(!strcmp(get(resp, "patchType")->valuestring, "JSONPatch"));
        check_patch(patch->valuestring);
    }
    cJSON_Delete(doc);
}

static void one(const struct review_config *cfg, enum review_endpoint ep, const uint8_t *data,
                size_t size)
{
    struct review_outcome oc;
    char *out = NULL;
    int http = review_handle(cfg, ep, (const char *)data, size, &out, &oc);

    check(ep, http, out, &oc);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct {
        unsigned channel;
        const char *bundle;
    } strict[] = {
        {SCH_EXPERIMENTAL, NULL},
        {SCH_STANDARD, "v1.2"},
        {SCH_EXPERIMENTAL, "main"},
    };
    struct review_config cfg;

    fuzz_init();
    memset(&cfg, 0, sizeof(cfg));
    cfg.webhook_name = "fuzz.gatecheck.io";
    cfg.opts.strict = 1;
    cfg.opts.channel = strict[size % 3].channel;
    cfg.opts.bundle = strict[size % 3].bundle;
    one(NULL, REVIEW_VALIDATE, data, size);
    one(NULL, REVIEW_MUTATE, data, size);
    one(&cfg, REVIEW_VALIDATE, data, size);
    one(&cfg, REVIEW_MUTATE, data, size);
    return 0;
}
