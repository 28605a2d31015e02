/* args.c — the one command-line rule every subcommand follows (cli_parse): options are looked up
 * by name before their value is taken, so a misspelt option is reported as unknown, never as an
 * option missing its value. Depends on nothing but the C library (`cicada text`'s test builds it
 * alone). */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const cli_extra_opt *find_opt(const cli_extra_opt *opts, size_t n, const char *name, size_t namelen)
{
    for (size_t k = 0; k < n; k++)
        if (strlen(opts[k].name) == namelen && strncmp(opts[k].name, name, namelen) == 0)
            return &opts[k];
    return NULL;
}

/* The option at argv[*i]: the name is looked up before any value is taken, so a misspelt option
 * is reported as unknown rather than as missing its value. False with a message on stderr. */
static bool take_option(const char *prog, int argc, char **argv, int *i, const cli_extra_opt *opts, size_t n)
{
    const char *arg = argv[*i];
    const char *eq = strchr(arg, '=');
    size_t namelen = eq ? (size_t)(eq - arg) : strlen(arg);
    const cli_extra_opt *o = find_opt(opts, n, arg, namelen);
    if (!o) {
        fprintf(stderr, "%s: unknown option %.*s (see %s --help)\n", prog, (int)namelen, arg, prog);
        return false;
    }
    if (!o->takes_value) {
        if (eq) {
            fprintf(stderr, "%s: %s takes no value (got \"%s\")\n", prog, o->name, arg);
            return false;
        }
        *o->seen = true;
        return true;
    }
    if (eq) {
        *o->value = eq + 1;
        return true;
    }
    if (*i + 1 >= argc) {
        fprintf(stderr, "%s: %s needs a value\n", prog, o->name);
        return false;
    }
    *o->value = argv[++*i];
    return true;
}

bool cli_parse(const char *prog, int argc, char **argv, const cli_extra_opt *opts, size_t nopts,
               const char **positional, size_t npos_max, size_t *npos)
{
    *npos = 0;
    bool options_end = false;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (!options_end && strcmp(arg, "--") == 0) {
            options_end = true;
            continue;
        }
        if (!options_end && arg[0] == '-' && arg[1]) {
            if (!take_option(prog, argc, argv, &i, opts, nopts))
                return false;
            continue;
        }
        if (*npos >= npos_max) {
            fprintf(stderr, "%s: unexpected argument \"%s\" (see %s --help)\n", prog, arg, prog);
            return false;
        }
        positional[(*npos)++] = arg;
    }
    return true;
}
