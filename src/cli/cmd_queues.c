/* cmd_queues.c — `cicada queues list|pause|resume`: the CI API's queue calls from the command line.
 * Pausing and resuming rewrite a queue with its own name and NotifyConfig and the new State (the
 * update call takes the whole queue), read from the server first. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const QUEUE_LISTS[] = {"QueueList", "NonExistPIDs", NULL};

static const char *text_or(const xml_node *n, const char *path, const char *dflt)
{
    const char *s = xml_path_text(n, path);
    return s && s[0] ? s : dflt;
}

static int fail(const char *prog, client_reply *r, int rc)
{
    if (rc != CLIENT_EXIT_INTERRUPTED)
        fprintf(stderr, "%s: %s\n", prog, r->error);
    client_reply_free(r);
    return rc;
}

static void queue_row(const xml_node *q, const char **cells)
{
    bool on = !strcmp(text_or(q, "NotifyConfig/State", ""), "On");
    const char *row[6] = {text_or(q, "QueueId", "-"), text_or(q, "Name", "-"), text_or(q, "State", "-"),
                          text_or(q, "MaxConcurrent", "-"), on ? text_or(q, "NotifyConfig/Url", "-") : "off",
                          text_or(q, "UpdateTime", "-")};
    memcpy(cells, row, sizeof row);
}

static int queues_list(client *c, bool json, const char *prog)
{
    static const char *const head[] = {"QUEUE ID", "NAME", "STATE", "MAX CONCURRENT", "CALLBACK", "UPDATED"};
    return client_list(c, "/asrqueue", "QueueList", QUEUE_LISTS, head, 6, queue_row, json, prog);
}

/* Sets one queue's State, keeping everything else it has. */
static int queue_set_state(client *c, const char *id, const char *state, bool json, const char *prog)
{
    auth_kv q[] = {{"queueIds", id}};
    client_call get = {.method = "GET", .path = "/asrqueue", .query = q, .nquery = 1};
    client_reply r;
    int rc = client_request(c, &get, &r);
    if (rc != CLIENT_EXIT_OK)
        return fail(prog, &r, rc);
    const xml_node *qn = xml_child(r.root, "QueueList");
    if (!qn) {
        fprintf(stderr, "%s: no queue %s in this bucket (see cicada queues list)\n", prog, id);
        client_reply_free(&r);
        return CLIENT_EXIT_REFUSED;
    }
    buf body;
    buf_init(&body);
    xml_writer w = {&body};
    xw_open(&w, "Request");
    xw_text_elem(&w, "Name", text_or(qn, "Name", ""));
    xw_text_elem(&w, "QueueID", id);
    xw_text_elem(&w, "State", state);
    xw_open(&w, "NotifyConfig");
    const char *nf[] = {"Url", "Event", "Type", "State", "ResultFormat"};
    for (size_t i = 0; i < sizeof nf / sizeof nf[0]; i++) {
        char path[64];
        snprintf(path, sizeof path, "NotifyConfig/%s", nf[i]);
        const char *v = xml_path_text(qn, path);
        if (v)
            xw_text_elem(&w, nf[i], v);
    }
    xw_close(&w, "NotifyConfig");
    xw_close(&w, "Request");
    client_reply_free(&r);

    char path[128];
    snprintf(path, sizeof path, "/asrqueue/%s", id);
    client_call put = {.method = "PUT", .path = path, .body = body.data};
    rc = client_request(c, &put, &r);
    buf_free(&body);
    if (rc != CLIENT_EXIT_OK)
        return fail(prog, &r, rc);
    const xml_node *got = xml_child(r.root, "Queue");
    if (json) {
        json_t *o = client_xml_json(got ? got : r.root, QUEUE_LISTS);
        client_print_json(o);
        json_decref(o);
    } else
        printf("%s  %s\n", id, got ? text_or(got, "State", state) : state);
    client_reply_free(&r);
    return CLIENT_EXIT_OK;
}

static void queues_help(void)
{
    printf("usage: cicada queues <list|pause|resume> [options]\n\n"
           "  list                 the bucket's queues\n"
           "  pause ID...          a paused queue starts no new jobs (running ones finish)\n"
           "  resume ID...         start its waiting jobs again\n\n"
           "every subcommand prints a readable table, or JSON with --json.\n\n");
    client_print_opts_help();
}

int cmd_queues(int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : "";
    if (!sub[0] || !strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
        queues_help();
        return sub[0] ? CLIENT_EXIT_OK : CLIENT_EXIT_USAGE;
    }
    bool list = !strcmp(sub, "list"), pause = !strcmp(sub, "pause"), resume = !strcmp(sub, "resume");
    if (!list && !pause && !resume) {
        fprintf(stderr, "cicada queues: unknown subcommand \"%s\" (list, pause, resume)\n", sub);
        return CLIENT_EXIT_USAGE;
    }
    char prog[64];
    snprintf(prog, sizeof prog, "cicada queues %s", sub);
    client_cmd cc;
    client_cmd_init(&cc);
    const char **pos = xcalloc((size_t)argc + 1, sizeof *pos);
    size_t npos = 0;
    int rc;
    client *c = NULL;
    if (client_cmd_parse(&cc, prog, argc - 1, argv + 1, pos, list ? 0 : (size_t)argc, &npos, "p", !list, queues_help,
                         &rc))
        c = client_open(prog, &cc.cs);
    if (c && list)
        rc = queues_list(c, cc.json, prog);
    else if (c) {
        rc = CLIENT_EXIT_OK;
        for (size_t i = 0; i < npos && !client_interrupted(c); i++) {
            int one = queue_set_state(c, pos[i], pause ? "Paused" : "Active", cc.json, prog);
            if (one != CLIENT_EXIT_OK && rc == CLIENT_EXIT_OK)
                rc = one;
        }
    }
    free(pos);
    return client_cmd_end(c, rc);
}
