/*
 * main.c - `cleo`, the node: parse the options and the configuration,
 * prepare the data directory, then run the node under heart (the default)
 * or directly (--no-heart).
 *
 * Exit codes: 0 clean stop; 1 the node failed or heart gave up; 2 bad
 * options or configuration (one line on stderr names the key or file).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "config.h"
#include "heart.h"
#include "manager/mgr.h"
#include "node.h"
#include "util.h"

#ifndef CLEO_VERSION
#define CLEO_VERSION "0.1.0"
#endif

#define EXIT_USAGE 2
#define MAX_SETS 256

typedef struct args_s {
    const char *data;   /* --data, default ./data */
    const char *config; /* --config, NULL = none */
    const char *sets[MAX_SETS];
    size_t nsets;
    bool no_heart;
} args_t;

static void usage(FILE *f)
{
    fprintf(f, "usage: cleo [--data DIR] [--config FILE] [--set key=value]...\n"
               "            [--no-heart] [--help] [--version]\n"
               "\n"
               "  --data DIR       data directory (default ./data; created)\n"
               "  --config FILE    `key = value` lines; # starts a comment\n"
               "  --set key=value  override one key (after the file)\n"
               "  --no-heart       run the node without its heart process\n"
               "\n"
               "configuration keys (key, default, meaning):\n");
    cfg_print_keys(f);
}

/* The value of an option given as "--opt VALUE" or "--opt=VALUE". */
static const char *opt_value(int argc, char **argv, int *i, const char *opt)
{
    size_t n = strlen(opt);
    if (strncmp(argv[*i], opt, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        fprintf(stderr, "cleo: %s needs a value (see --help)\n", opt);
        exit(EXIT_USAGE);
    }
    return argv[++*i];
}

static void parse_args(int argc, char **argv, args_t *a)
{
    const char *v;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("cleo %s\n", CLEO_VERSION);
            exit(0);
        } else if (strcmp(argv[i], "--no-heart") == 0) {
            a->no_heart = true;
        } else if ((v = opt_value(argc, argv, &i, "--data")) != NULL) {
            a->data = v;
        } else if ((v = opt_value(argc, argv, &i, "--config")) != NULL) {
            a->config = v;
        } else if ((v = opt_value(argc, argv, &i, "--set")) != NULL) {
            if (a->nsets == MAX_SETS) {
                fprintf(stderr, "cleo: more than %d --set\n", MAX_SETS);
                exit(EXIT_USAGE);
            }
            a->sets[a->nsets++] = v;
        } else {
            fprintf(stderr, "cleo: unknown option '%s' (see --help)\n",
                    argv[i]);
            exit(EXIT_USAGE);
        }
    }
}

/* Defaults, then the file, then each --set in order. */
static void load_config(const args_t *a, cfg_t *c)
{
    char err[CFG_ERR_MAX];
    cfg_init(c);
    if (a->config && cfg_load_file(c, a->config, err, sizeof(err)) < 0) {
        fprintf(stderr, "cleo: %s\n", err);
        exit(EXIT_USAGE);
    }
    for (size_t i = 0; i < a->nsets; i++) {
        if (cfg_set_arg(c, a->sets[i], err, sizeof(err)) < 0) {
            fprintf(stderr, "cleo: --set: %s\n", err);
            exit(EXIT_USAGE);
        }
    }
    if (a->no_heart)
        c->heart_enabled = false;
}

static void die_path(const char *what, const char *path, int rc)
{
    fprintf(stderr, "cleo: %s %s: %s\n", what, path, strerror(-rc));
    exit(EXIT_USAGE);
}

/* <data>/<name> into out, which is `len` bytes. */
static void data_path(char *out, size_t len, const char *data, const char *name)
{
    if (snprintf(out, len, "%s/%s", data, name) >= (int)len) {
        fprintf(stderr, "cleo: data directory %s: path too long for %s\n", data,
                name);
        exit(EXIT_USAGE);
    }
}

int main(int argc, char **argv)
{
    args_t a = {.data = "data"};
    cfg_t cfg;
    parse_args(argc, argv, &a);
    load_config(&a, &cfg);
    const char *env_ak, *env_sk;
    char env_err[256];
    if (mgr_env_keys(&env_ak, &env_sk, env_err, sizeof env_err) < 0) {
        fprintf(stderr, "cleo: %s\n", env_err);
        return EXIT_USAGE;
    }

    static char data[PATH_MAX], pid[PATH_MAX], hpid[PATH_MAX], lock[PATH_MAX],
        hlock[PATH_MAX], tokpath[PATH_MAX], token[128];
    static char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int rc = util_mkdir_p(a.data, 0700);
    if (rc < 0)
        die_path("data directory", a.data, rc);
    if (realpath(a.data, data) == NULL)
        die_path("data directory", a.data, -errno);
    cfg_finish(&cfg, data);
    data_path(sock, sizeof(sock), data, "cleo.sock");
    data_path(pid, sizeof(pid), data, "cleo.pid");
    data_path(hpid, sizeof(hpid), data, "heart.pid");
    data_path(lock, sizeof(lock), data, "cleo.lock");
    data_path(hlock, sizeof(hlock), data, "heart.lock");
    data_path(tokpath, sizeof(tokpath), data, "admin.token");
    if (cfg.admin_tcp_port &&
        (rc = util_token_load(tokpath, token, sizeof(token))) < 0) {
        if (rc == -EPERM)
            fprintf(stderr,
                    "cleo: %s: readable by group or others; "
                    "chmod 600 it\n",
                    tokpath);
        else
            fprintf(stderr, "cleo: %s: %s\n", tokpath,
                    rc == -EINVAL ? "empty or too long" : strerror(-rc));
        return EXIT_USAGE;
    }

    node_opts_t n = {.cfg = &cfg,
                     .data = data,
                     .sock_path = sock,
                     .pid_path = pid,
                     .lock_path = lock,
                     .token = cfg.admin_tcp_port ? token : NULL};
    if (!cfg.heart_enabled)
        return node_run(&n, -1, 0);
    heart_opts_t h = {.timeout_s = cfg.heart_timeout_s,
                      .max_restarts = cfg.heart_max_restarts,
                      .period_s = cfg.heart_restart_period_s,
                      .pid_path = hpid,
                      .lock_path = hlock,
                      .node = node_run,
                      .arg = &n};
    return heart_run(&h);
}
