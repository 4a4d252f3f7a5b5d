/*
 * The JSON Patch builder (defaults_patch) on hand-built schema trees, for
 * what the Gateway API schemas never exercise: JSON-pointer escaping of
 * '~' and '/' in map keys, defaults under map values and array items,
 * nesting, and idempotence. The data-driven cases in tests/data/defaults
 * cover the real schemas.
 */
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "defaults.h"
#include "schema.h"
#include "util.h"

static struct schema_row rows[4];
static struct schema_node root, spec, entry, mode, list, item, port;
static struct schema_node *root_children[1], *entry_children[2], *item_children[1];

static void build(void)
{
    rows[0] = (struct schema_row){.path = "spec", .type = SCH_OBJECT};
    rows[1] = (struct schema_row){.path = "spec{}", .type = SCH_OBJECT};
    rows[2] = (struct schema_row){
        .path = "spec{}.mode", .type = SCH_STRING, .default_json = "\"Terminate\""};
    rows[3] = (struct schema_row){
        .path = "spec{}.ports[].port", .type = SCH_INTEGER, .default_json = "80"};
    mode = (struct schema_node){.row = &rows[2], .name = "mode"};
    mode.default_value = cJSON_Parse(rows[2].default_json);
    port = (struct schema_node){.row = &rows[3], .name = "port"};
    port.default_value = cJSON_Parse(rows[3].default_json);
    item_children[0] = &port;
    item = (struct schema_node){.name = "[]", .child = item_children, .nchild = 1};
    list = (struct schema_node){.name = "ports", .items = &item};
    entry_children[0] = &mode;
    entry_children[1] = &list;
    entry =
        (struct schema_node){.row = &rows[1], .name = "{}", .child = entry_children, .nchild = 2};
    spec = (struct schema_node){.row = &rows[0], .name = "spec", .values = &entry};
    root_children[0] = &spec;
    root = (struct schema_node){.name = "", .child = root_children, .nchild = 1};
}

static void check(const char *in, const char *want, const char *name)
{
    cJSON *obj = cJSON_Parse(in);
    cJSON *patch = defaults_patch(&root, obj);
    char *got = cJSON_PrintUnformatted(patch);
    cJSON *applied = cJSON_Duplicate(obj, 1);
    cJSON *again;

    is_str(got, want, name);
    defaults_apply(&root, applied);
    again = defaults_patch(&root, applied);
    ok(cJSON_GetArraySize(again) == 0, "%s: a defaulted object needs no patch", name);
    cJSON_free(got);
    cJSON_Delete(again);
    cJSON_Delete(applied);
    cJSON_Delete(patch);
    cJSON_Delete(obj);
}

int main(void)
{
    util_init_cjson();
    build();
    check("{\"spec\":{\"a/b\":{},\"c~d\":{\"mode\":\"Passthrough\"}}}",
          "[{\"op\":\"add\",\"path\":\"/spec/a~1b/mode\",\"value\":\"Terminate\"}]",
          "'/' in a map key is escaped as ~1; a set value is kept");
    check("{\"spec\":{\"~/\":{}}}",
          "[{\"op\":\"add\",\"path\":\"/spec/~0~1/mode\",\"value\":\"Terminate\"}]",
          "'~' is escaped as ~0, before '/' as ~1");
    check("{\"spec\":{\"x\":{\"mode\":\"M\",\"ports\":[{},{\"port\":8080},{}]}}}",
          "[{\"op\":\"add\",\"path\":\"/spec/x/ports/0/port\",\"value\":80},"
          "{\"op\":\"add\",\"path\":\"/spec/x/ports/2/port\",\"value\":80}]",
          "defaults inside array items, by index; set values kept");
    check("{\"spec\":{\"x\":{\"mode\":null}}}",
          "[{\"op\":\"add\",\"path\":\"/spec/x/mode\",\"value\":\"Terminate\"}]",
          "a null is replaced (add on an existing member replaces it)");
    check("{\"spec\":{}}", "[]", "nothing to add gives an empty patch");
    check("{}", "[]", "an absent parent without a default is not created");
    cJSON_Delete(mode.default_value);
    cJSON_Delete(port.default_value);
    return done_testing();
}
