/* Releasing the shared types of include/conform.h. */
#include <stdlib.h>
#include <string.h>

#include "conform.h"

static void kv_release(struct conf_kvlist *l)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].value);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void str_release(struct conf_strlist *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void redirect_release(struct conf_redirect *r)
{
    free(r->scheme);
    free(r->host);
    free(r->port);
    free(r->path);
    memset(r, 0, sizeof(*r));
}

void conf_request_release(struct conf_request *r)
{
    free(r->host);
    free(r->method);
    free(r->path);
    kv_release(&r->headers);
    kv_release(&r->backend_set_response_headers);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

void conf_expect_release(struct conf_expect *e)
{
    size_t i;

    free(e->request.host);
    free(e->request.method);
    free(e->request.path);
    free(e->request.http_port);
    free(e->request.sni);
    free(e->request.client_cert);
    kv_release(&e->request.headers);
    str_release(&e->request.absent_headers);
    free(e->response.status_codes);
    kv_release(&e->response.headers);
    for (i = 0; i < e->response.nvalid; i++) {
        free(e->response.valid[i].name);
        str_release(&e->response.valid[i].values);
    }
    free(e->response.valid);
    str_release(&e->response.absent_headers);
    free(e->response.protocol);
    redirect_release(&e->redirect);
    free(e->backend);
    free(e->namespace_);
    memset(e, 0, sizeof(*e));
}

void conf_captured_release(struct conf_captured *c)
{
    struct conf_echo *e = &c->echo;

    free(c->proto);
    free(c->error);
    kv_release(&c->headers);
    free(e->path);
    free(e->host);
    free(e->method);
    free(e->proto);
    free(e->namespace_);
    free(e->pod);
    free(e->http_port);
    kv_release(&e->headers);
    free(e->tls_server_name);
    str_release(&e->tls_peer_certificates);
    redirect_release(&c->location);
    free(c->url);
    free(c->body_start);
    memset(c, 0, sizeof(*c));
}

void conf_scenario_result_release(struct conf_scenario_result *r)
{
    size_t i;

    free(r->name);
    free(r->description);
    free(r->profile);
    str_release(&r->features);
    free(r->message);
    for (i = 0; i < r->ncases; i++) {
        free(r->cases[i].name);
        free(r->cases[i].message);
        free(r->cases[i].detail);
    }
    free(r->cases);
    memset(r, 0, sizeof(*r));
}

void conf_run_info_release(struct conf_run_info *i)
{
    free(i->impl.organization);
    free(i->impl.project);
    free(i->impl.url);
    free(i->impl.version);
    str_release(&i->impl.contact);
    free(i->mode);
    free(i->gateway_api_version);
    free(i->gateway_api_channel);
    free(i->gateway_class);
    str_release(&i->profiles);
    str_release(&i->supported_features);
    str_release(&i->all_extended_features_of_profiles);
    free(i->hostname);
    memset(i, 0, sizeof(*i));
}
