/* Releasing the shared types of include/conform.h. */
#include <stdlib.h>
#include <string.h>

#include "conform.h"
#include "util.h"

void conf_kvlist_release(struct conf_kvlist *l)
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

void conf_strlist_release(struct conf_strlist *l)
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
    conf_kvlist_release(&r->headers);
    conf_kvlist_release(&r->backend_set_response_headers);
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
    conf_kvlist_release(&e->request.headers);
    conf_strlist_release(&e->request.absent_headers);
    free(e->response.status_codes);
    conf_kvlist_release(&e->response.headers);
    for (i = 0; i < e->response.nvalid; i++) {
        free(e->response.valid[i].name);
        conf_strlist_release(&e->response.valid[i].values);
    }
    free(e->response.valid);
    conf_strlist_release(&e->response.absent_headers);
    free(e->response.protocol);
    redirect_release(&e->redirect);
    free(e->backend);
    free(e->namespace_);
    memset(e, 0, sizeof(*e));
}

void conf_strlist_add(struct conf_strlist *l, const char *s)
{
    l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
    l->v[l->n++] = xstrdup(s);
}

void conf_echo_release(struct conf_echo *e)
{
    free(e->path);
    free(e->host);
    free(e->method);
    free(e->proto);
    free(e->namespace_);
    free(e->pod);
    free(e->http_port);
    conf_kvlist_release(&e->headers);
    free(e->tls_server_name);
    conf_strlist_release(&e->tls_peer_certificates);
    memset(e, 0, sizeof(*e));
}

void conf_captured_release(struct conf_captured *c)
{
    free(c->proto);
    free(c->error);
    conf_kvlist_release(&c->headers);
    conf_echo_release(&c->echo);
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
    conf_strlist_release(&r->features);
    free(r->message);
    for (i = 0; i < r->ncases; i++) {
        free(r->cases[i].name);
        free(r->cases[i].message);
        free(r->cases[i].detail);
        conf_faults_release(&r->cases[i].faults);
    }
    free(r->cases);
    conf_faults_release(&r->faults);
    memset(r, 0, sizeof(*r));
}

void conf_run_info_release(struct conf_run_info *i)
{
    free(i->impl.organization);
    free(i->impl.project);
    free(i->impl.url);
    free(i->impl.version);
    conf_strlist_release(&i->impl.contact);
    free(i->mode);
    free(i->gateway_api_version);
    free(i->gateway_api_channel);
    free(i->gateway_class);
    conf_strlist_release(&i->profiles);
    conf_strlist_release(&i->supported_features);
    conf_strlist_release(&i->all_extended_features_of_profiles);
    free(i->hostname);
    conf_faults_release(&i->faults);
    memset(i, 0, sizeof(*i));
}
