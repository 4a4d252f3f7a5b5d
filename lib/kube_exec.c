/* Exec credential plugins (client.authentication.k8s.io/v1; spec ecosystem.md
   §6.1): run the command with KUBERNETES_EXEC_INFO, read its ExecCredential.
   The plugin's stderr is ours; stdin only when interactive. No caching here:
   the client (lib/kube.c) decides when to run it again. */
#include "kube_int.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXEC_MAX_OUTPUT ((size_t)1 << 20)

extern char **environ;

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
                                                      ...)
{
    va_list ap;

    if (errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static const char *user_name(const struct kube_config *cfg)
{
    return cfg->user ? cfg->user : "?";
}

/* KUBERNETES_EXEC_INFO: an ExecCredential with spec.interactive and, when asked, the cluster. */
static char *exec_info(const struct kube_config *cfg, int interactive)
{
    cJSON *root = cJSON_CreateObject(), *spec, *cl;
    char *s, *env;

    cJSON_AddStringToObject(root, "apiVersion", cfg->exec->api_version);
    cJSON_AddStringToObject(root, "kind", "ExecCredential");
    spec = cJSON_AddObjectToObject(root, "spec");
    cJSON_AddBoolToObject(spec, "interactive", interactive);
    if (cfg->exec->provide_cluster_info) {
        cl = cJSON_AddObjectToObject(spec, "cluster");
        cJSON_AddStringToObject(cl, "server", cfg->server);
        if (cfg->tls_server_name)
            cJSON_AddStringToObject(cl, "tls-server-name", cfg->tls_server_name);
        if (cfg->insecure)
            cJSON_AddBoolToObject(cl, "insecure-skip-tls-verify", 1);
        if (cfg->ca.data) {
            char *b64 = kube_b64_encode(cfg->ca.data, cfg->ca.len);

            cJSON_AddStringToObject(cl, "certificate-authority-data", b64);
            free(b64);
        }
        if (cfg->proxy_url)
            cJSON_AddStringToObject(cl, "proxy-url", cfg->proxy_url);
        if (cfg->disable_compression)
            cJSON_AddBoolToObject(cl, "disable-compression", 1);
    }
    s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    env = xasprintf("KUBERNETES_EXEC_INFO=%s", s);
    cJSON_free(s);
    return env;
}

static int env_overridden(const struct kube_exec *x, const char *entry)
{
    size_t i, n;

    if (strncmp(entry, "KUBERNETES_EXEC_INFO=", 21) == 0)
        return 1;
    for (i = 0; i < x->nenv; i++) {
        n = strlen(x->env[i].name);
        if (strncmp(entry, x->env[i].name, n) == 0 && entry[n] == '=')
            return 1;
    }
    return 0;
}

/* Our environment, minus what the plugin's env overrides, plus that and the info. */
static char **exec_envp(const struct kube_config *cfg, int interactive)
{
    const struct kube_exec *x = cfg->exec;
    size_t n = 0, k = 0, i;
    char **envp;

    while (environ && environ[n])
        n++;
    envp = xcalloc(n + x->nenv + 2, sizeof(*envp));
    for (i = 0; i < n; i++)
        if (!env_overridden(x, environ[i]))
            envp[k++] = xstrdup(environ[i]);
    for (i = 0; i < x->nenv; i++)
        envp[k++] = xasprintf("%s=%s", x->env[i].name, x->env[i].value);
    envp[k] = exec_info(cfg, interactive);
    return envp;
}

static char **exec_argv(const struct kube_exec *x)
{
    char **argv = xcalloc(x->nargs + 2, sizeof(*argv));
    size_t i;

    argv[0] = x->command;
    for (i = 0; i < x->nargs; i++)
        argv[i + 1] = x->args[i];
    return argv;
}

static void free_envp(char **envp)
{
    size_t i;

    for (i = 0; envp[i]; i++)
        free(envp[i]);
    free(envp);
}

static int spawn_fail(const struct kube_config *cfg, int e, char *err, size_t errlen)
{
    const struct kube_exec *x = cfg->exec;

    if (e == ENOENT)
        return fail(err, errlen, "exec plugin '%s' of user '%s' not found (%s): install it%s%s",
                    x->command, user_name(cfg),
                    strchr(x->command, '/') ? "no such file" : "not in PATH",
                    x->install_hint ? ": " : "", x->install_hint ? x->install_hint : "");
    return fail(err, errlen, "cannot run exec plugin '%s' of user '%s': %s", x->command,
                user_name(cfg), strerror(e));
}

/* Start the plugin with stdout on a pipe; stdin /dev/null unless interactive. */
static int exec_spawn(const struct kube_config *cfg, int interactive, pid_t *pid, int *out_fd,
                      char *err, size_t errlen)
{
    posix_spawn_file_actions_t fa;
    char **envp = exec_envp(cfg, interactive), **argv = exec_argv(cfg->exec);
    int p[2], e;

    if (pipe2(p, O_CLOEXEC) != 0) {
        e = errno;
        free_envp(envp);
        free(argv);
        return spawn_fail(cfg, e, err, errlen);
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    if (!interactive)
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    e = posix_spawnp(pid, cfg->exec->command, &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    free_envp(envp);
    free(argv);
    if (e) {
        close(p[0]);
        return spawn_fail(cfg, e, err, errlen);
    }
    *out_fd = p[0];
    return 0;
}

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read fd to EOF within timeout_ms and max bytes. 0, or -1 (timeout/too big/error) */
static int read_all(int fd, long timeout_ms, struct sbuf *out, const char **why)
{
    long deadline = now_ms() + timeout_ms;
    char buf[4096];

    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        long left = deadline - now_ms();
        ssize_t n;
        int r;

        if (left <= 0) {
            *why = "timed out";
            return -1;
        }
        r = poll(&pfd, 1, (int)(left > 1000000 ? 1000000 : left));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            return 0;
        if (n < 0) {
            *why = "could not be read";
            return -1;
        }
        if (out->len + (size_t)n > EXEC_MAX_OUTPUT) {
            *why = "printed more than 1 MiB";
            return -1;
        }
        sb_add(out, buf, (size_t)n);
    }
}

static int wait_child(pid_t pid, int kill_it)
{
    int st = 0;

    if (kill_it)
        kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return st;
}

static int decide_interactive(const struct kube_config *cfg, int *interactive, char *err,
                              size_t errlen)
{
    const char *mode = cfg->exec->interactive_mode;

    *interactive = 0;
    if (strcmp(mode, "Never") == 0)
        return 0;
    *interactive = isatty(0);
    if (!*interactive && strcmp(mode, "Always") == 0)
        return fail(err, errlen,
                    "exec plugin '%s' of user '%s' needs a terminal (interactiveMode: Always), "
                    "but stdin is not one",
                    cfg->exec->command, user_name(cfg));
    return 0;
}

/* Whether the plugin's command can be found: the path itself when it holds
   a '/', else an executable of that name in a directory of $PATH. */
static int command_exists(const struct kube_config *cfg)
{
    const char *cmd = cfg->exec->command, *path = getenv("PATH"), *p;
    int found = 0;

    if (strchr(cmd, '/'))
        return access(cmd, X_OK) == 0;
    for (p = path ? path : ""; *p && !found; p += *p == ':') {
        size_t n = strcspn(p, ":");
        char *f = xasprintf("%.*s/%s", (int)n, p, cmd);

        found = n > 0 && access(f, X_OK) == 0;
        free(f);
        p += n;
    }
    return found;
}

/* Run the plugin; its stdout in *out. */
static int exec_capture(const struct kube_config *cfg, long timeout_ms, struct sbuf *out, char *err,
                        size_t errlen)
{
    const char *why = NULL;
    int interactive = 0, fd = -1, st, rc;
    pid_t pid = 0;

    if (decide_interactive(cfg, &interactive, err, errlen) ||
        exec_spawn(cfg, interactive, &pid, &fd, err, errlen))
        return -1;
    if (interactive && timeout_ms < 300000)
        timeout_ms = 300000; /* a person may be typing */
    rc = read_all(fd, timeout_ms, out, &why);
    close(fd);
    st = wait_child(pid, rc != 0);
    if (rc != 0)
        return fail(err, errlen, "exec plugin '%s' of user '%s' %s", cfg->exec->command,
                    user_name(cfg), why);
    if (WIFSIGNALED(st))
        return fail(err, errlen, "exec plugin '%s' of user '%s' was killed by signal %d",
                    cfg->exec->command, user_name(cfg), WTERMSIG(st));
    /* 127 and no such command: it was not found after all (the exec failed
       in the child, as under valgrind, where the spawn itself cannot tell
       and the child's stdout may hold valgrind's own words) */
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127 && !command_exists(cfg))
        return spawn_fail(cfg, ENOENT, err, errlen);
    if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
        return fail(err, errlen,
                    "exec plugin '%s' of user '%s' failed with exit status %d (its own "
                    "messages are on stderr)",
                    cfg->exec->command, user_name(cfg), WEXITSTATUS(st));
    return 0;
}

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) && *v->valuestring ? v->valuestring : NULL;
}

static int cred_status(const struct kube_config *cfg, const cJSON *status,
                       struct kube_exec_cred *out, char *err, size_t errlen)
{
    const char *cmd = cfg->exec->command, *token = jstr(status, "token");
    const char *cert = jstr(status, "clientCertificateData"), *key = jstr(status, "clientKeyData");
    const char *exp = jstr(status, "expirationTimestamp");

    if (!cert != !key)
        return fail(err, errlen,
                    "exec plugin '%s' returned clientCertificateData without clientKeyData or "
                    "the reverse: both are needed",
                    cmd);
    if (!token && !cert)
        return fail(err, errlen,
                    "exec plugin '%s' returned an ExecCredential without status.token or "
                    "status.clientCertificateData/clientKeyData",
                    cmd);
    if (cert && (kube_pem_check_cert(cert, strlen(cert)) || kube_pem_check_key(key, strlen(key)) ||
                 kube_pem_check_pair(cert, strlen(cert), key, strlen(key))))
        return fail(err, errlen,
                    "exec plugin '%s' returned a client certificate and key that are not a "
                    "matching PEM pair",
                    cmd);
    if (exp && kube_parse_rfc3339(exp, &out->expiry) != 0)
        return fail(err, errlen, "exec plugin '%s' returned an invalid expirationTimestamp '%s'",
                    cmd, exp);
    out->token = token ? xstrdup(token) : NULL;
    if (cert) {
        out->cert.data = xstrdup(cert);
        out->cert.len = strlen(cert);
        out->key.data = xstrdup(key);
        out->key.len = strlen(key);
    }
    return 0;
}

static int cred_parse(const struct kube_config *cfg, const struct sbuf *out,
                      struct kube_exec_cred *cred, char *err, size_t errlen)
{
    const char *cmd = cfg->exec->command, *api, *kind;
    cJSON *root = cJSON_ParseWithLength(out->buf ? out->buf : "", out->len);
    const cJSON *status;
    int rc;

    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return fail(err, errlen,
                    "exec plugin '%s' of user '%s' did not print an ExecCredential "
                    "(JSON) on stdout",
                    cmd, user_name(cfg));
    }
    api = jstr(root, "apiVersion");
    kind = jstr(root, "kind");
    status = cJSON_GetObjectItemCaseSensitive(root, "status");
    if (!api || strcmp(api, cfg->exec->api_version) != 0)
        rc = fail(err, errlen,
                  "exec plugin '%s' is configured to use API version %s, but returned version "
                  "%s",
                  cmd, cfg->exec->api_version, api ? api : "(none)");
    else if (!kind || strcmp(kind, "ExecCredential") != 0)
        rc = fail(err, errlen, "exec plugin '%s' returned kind '%s', not ExecCredential", cmd,
                  kind ? kind : "(none)");
    else if (!cJSON_IsObject(status))
        rc = fail(err, errlen, "exec plugin '%s' returned an ExecCredential without status", cmd);
    else
        rc = cred_status(cfg, status, cred, err, errlen);
    cJSON_Delete(root);
    return rc;
}

int kube_exec_run(const struct kube_config *cfg, long timeout_ms, struct kube_exec_cred *out,
                  char *err, size_t errlen)
{
    struct sbuf buf = {0};
    int rc;

    memset(out, 0, sizeof(*out));
    rc = exec_capture(cfg, timeout_ms, &buf, err, errlen);
    if (rc == 0)
        rc = cred_parse(cfg, &buf, out, err, errlen);
    sb_release(&buf);
    if (rc != 0)
        kube_exec_cred_release(out);
    return rc;
}

void kube_exec_cred_release(struct kube_exec_cred *cred)
{
    free(cred->token);
    free(cred->cert.data);
    free(cred->key.data);
    memset(cred, 0, sizeof(*cred));
}
