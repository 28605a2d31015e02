/* cmd_buckets.c — `cicada buckets open|list`: opening speech recognition on a bucket (which also
 * creates the bucket and its default queue on a Cicada server) and listing the caller's ASR
 * buckets. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *text_or(const xml_node *n, const char *path, const char *dflt)
{
    const char *s = xml_path_text(n, path);
    return s && s[0] ? s : dflt;
}

static void bucket_row(const xml_node *b, const char **cells)
{
    cells[0] = text_or(b, "BucketId", text_or(b, "Name", "-"));
    cells[1] = text_or(b, "Region", "-");
    cells[2] = text_or(b, "CreateTime", "-");
}

static int buckets_list(client *c, bool json, const char *prog)
{
    static const char *const head[] = {"BUCKET", "REGION", "CREATED"};
    static const char *const lists[] = {"AsrBucketList", NULL};
    return client_list(c, "/asrbucket", "AsrBucketList", lists, head, 3, bucket_row, json, prog);
}

static int bucket_open(client *c, bool json, const char *prog)
{
    client_call call = {.method = "POST", .path = "/asrbucket"};
    client_reply r;
    int rc = client_request(c, &call, &r);
    if (rc != CLIENT_EXIT_OK) {
        if (rc != CLIENT_EXIT_INTERRUPTED)
            fprintf(stderr, "%s: %s\n", prog, r.error);
    } else if (json) {
        json_t *o = client_xml_json(r.root, NULL);
        json_object_del(o, "RequestId");
        client_print_json(o);
        json_decref(o);
    } else {
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
    int rc;
    client *c = NULL;
    if (client_cmd_parse(&cc, prog, argc - 1, argv + 1, pos, open ? 1 : 0, &npos, NULL, false, buckets_help, &rc)) {
        if (npos)   /* the bucket named is the one the request goes to */
            cc.cs.bucket = pos[0];
        c = client_open(prog, &cc.cs);
    }
    if (c)
        rc = list ? buckets_list(c, cc.json, prog) : bucket_open(c, cc.json, prog);
    return client_cmd_end(c, rc);
}
