/* cmd_buckets.c — `cicada buckets open|list`: opening speech recognition on a bucket (which also
 * creates the bucket and its default queue on a Cicada server) and listing the caller's ASR
 * buckets. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUCKET_PAGE "100"   /* the API's largest page */

static const char *text_or(const xml_node *n, const char *path, const char *dflt)
{
    const char *s = xml_path_text(n, path);
    return s && s[0] ? s : dflt;
}

static void print_json_of(const xml_node *n, const char *const *lists)
{
    json_t *o = client_xml_json(n, lists);
    json_object_del(o, "RequestId");
    json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    putchar('\n');
    json_decref(o);
}

static int buckets_list(client *c, bool json, const char *prog)
{
    static const char *const lists[] = {"AsrBucketList", NULL};
    json_t *all = json ? json_array() : NULL;
    size_t nrows = 1, cap = 16;
    char **cells = xcalloc(cap * 3, sizeof *cells);
    const char *head[] = {"BUCKET", "REGION", "CREATED"};
    for (int k = 0; k < 3; k++)
        cells[k] = xstrdup(head[k]);
    int rc = CLIENT_EXIT_OK;
    for (int page = 1; rc == CLIENT_EXIT_OK && !client_interrupted(c); page++) {
        char pn[16];
        snprintf(pn, sizeof pn, "%d", page);
        auth_kv q[] = {{"pageNumber", pn}, {"pageSize", BUCKET_PAGE}};
        client_call call = {.method = "GET", .path = "/asrbucket", .query = q, .nquery = 2};
        client_reply r;
        if ((rc = client_request(c, &call, &r)) != CLIENT_EXIT_OK) {
            if (rc != CLIENT_EXIT_INTERRUPTED)
                fprintf(stderr, "%s: %s\n", prog, r.error);
            client_reply_free(&r);
            break;
        }
        size_t got = 0;
        for (const xml_node *b = xml_child(r.root, "AsrBucketList"); b; b = xml_next_named(b), got++) {
            if (all) {
                json_array_append_new(all, client_xml_json(b, lists));
                continue;
            }
            if (nrows == cap) {
                cells = xrealloc(cells, cap * 2 * 3 * sizeof *cells);
                cap *= 2;
            }
            const char *row[3] = {text_or(b, "BucketId", text_or(b, "Name", "-")), text_or(b, "Region", "-"),
                                  text_or(b, "CreateTime", "-")};
            for (int k = 0; k < 3; k++)
                cells[nrows * 3 + k] = xstrdup(row[k]);
            nrows++;
        }
        long total = strtol(text_or(r.root, "TotalCount", "0"), NULL, 10);
        client_reply_free(&r);
        if (got == 0 || (long)page * atol(BUCKET_PAGE) >= total)
            break;
    }
    if (rc == CLIENT_EXIT_OK && all) {
        json_t *o = json_pack("{s:O}", "AsrBucketList", all);
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        putchar('\n');
        json_decref(o);
    } else if (rc == CLIENT_EXIT_OK)
        client_print_table(stdout, (const char *const *)cells, nrows, 3);
    json_decref(all);
    for (size_t i = 0; i < nrows * 3; i++)
        free(cells[i]);
    free(cells);
    return rc;
}

static int bucket_open(client *c, bool json, const char *prog)
{
    client_call call = {.method = "POST", .path = "/asrbucket"};
    client_reply r;
    int rc = client_request(c, &call, &r);
    if (rc != CLIENT_EXIT_OK) {
        if (rc != CLIENT_EXIT_INTERRUPTED)
            fprintf(stderr, "%s: %s\n", prog, r.error);
    } else if (json)
        print_json_of(r.root, NULL);
    else {
        const xml_node *b = xml_child(r.root, "AsrBucket");
        printf("%s  open (%s)\n", text_or(b, "BucketId", client_bucket(c)[0] ? client_bucket(c) : "the default bucket"),
               text_or(b, "Region", client_region(c)));
    }
    client_reply_free(&r);
    return rc;
}

static void buckets_help(void)
{
    printf("usage: cicada buckets <open|list> [options]\n\n"
           "  open [BUCKET]        open speech recognition on the bucket (default --bucket, else the\n"
           "                       server's default bucket): creates it and its default queue if new\n"
           "  list                 the buckets open for speech recognition\n\n"
           "every subcommand prints a readable table, or JSON with --json.\n\n");
    client_print_opts_help();
}

int cmd_buckets(int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : "";
    if (!sub[0] || !strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
        buckets_help();
        return sub[0] ? CLIENT_EXIT_OK : CLIENT_EXIT_USAGE;
    }
    bool list = !strcmp(sub, "list"), open = !strcmp(sub, "open");
    if (!list && !open) {
        fprintf(stderr, "cicada buckets: unknown subcommand \"%s\" (open, list)\n", sub);
        return CLIENT_EXIT_USAGE;
    }
    char prog[64];
    snprintf(prog, sizeof prog, "cicada buckets %s", sub);
    client_cmd cc;
    client_cmd_init(&cc);
    const char *pos[1] = {NULL};
    size_t npos = 0;
    if (!cli_parse(prog, argc - 1, argv + 1, cc.opts, cc.nopts, pos, open ? 1 : 0, &npos))
        return CLIENT_EXIT_USAGE;
    if (cc.help) {
        buckets_help();
        return CLIENT_EXIT_OK;
    }
    if (npos)
        cc.cs.bucket = pos[0];
    client *c = client_open(prog, &cc.cs);
    if (!c)
        return CLIENT_EXIT_USAGE;
    int rc = list ? buckets_list(c, cc.json, prog) : bucket_open(c, cc.json, prog);
    if (client_interrupted(c) && rc == CLIENT_EXIT_OK)
        rc = CLIENT_EXIT_INTERRUPTED;
    client_close(c);
    return rc;
}
