/* cmd_migrate.c — `cicada migrate`: opens the configured database (PostgreSQL from database_url,
 * else SQLite in the data directory), which creates or upgrades its schema, and exits. `serve`
 * does the same at start-up (several nodes starting at once are safe: the PostgreSQL backend
 * migrates under an advisory lock); this command lets an operator do it first, with rights the
 * serving role need not have, and see the outcome. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "util/util.h"

int cmd_migrate(int argc, char **argv)
{
    bool help = false;
    cli_extra_opt extra[] = {{"--help", false, NULL, &help}, {"-h", false, NULL, &help}};
    config c;
    size_t npos;
    if (!config_load(&c, CLI_MIGRATE, argc, argv, extra, 2, NULL, 0, &npos))
        return 2;
    if (help) {
        printf("usage: cicada migrate [options]\n\n"
               "Creates or upgrades the database schema, then exits (cicada serve does it too).\n\n");
        config_print_help(CLI_MIGRATE);
        return 0;
    }
    char db[1100];
    snprintf(db, sizeof db, "%s/cicada.db", c.data_dir);
    if (!c.database_url[0] && !fs_mkdirs(c.data_dir, 0700)) {
        fprintf(stderr, "cicada migrate: cannot create data directory %s\n", c.data_dir);
        return 1;
    }
    store_params sp = store_default_params();
    sp.sqlite_path = db;
    sp.database_url = c.database_url;
    char err[1024] = "";
    store *st = store_open(&sp, err, sizeof err);
    if (!st) {
        fprintf(stderr, "cicada migrate: %s\n", err);
        return 1;
    }
    printf("cicada migrate: the %s schema is up to date (%s)\n", store_backend_name(st),
           c.database_url[0] ? "database_url" : db);
    store_close(st);
    return 0;
}
