/* cmd_queues.c — `cicada queues list|pause|resume`: the CI API's queue calls from the command line.
 * Pausing and resuming rewrite a queue with its own name and NotifyConfig and the new State (the
 * update call takes the whole queue), read from the server first. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_PAGE "100"   /* the API's largest page */

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

static int queues_list(client *c, bool json, const char *prog)
{
    json_t *all = json ? json_array() : NULL;
    size_t nrows = 1, cap = 16;
    char **cells = xcalloc(cap * 6, sizeof *cells);
    const char *head[] = {"QUEUE ID", "NAME", "STATE", "MAX CONCURRENT", "CALLBACK", "UPDATED"};
    for (int k = 0; k < 6; k++)
        cells[k] = xstrdup(head[k]);
    int rc = CLIENT_EXIT_OK;
    for (int page = 1; rc == CLIENT_EXIT_OK && !client_interrupted(c); page++) {
        char pn[16];
        snprintf(pn, sizeof pn, "%d", page);
        auth_kv q[] = {{"pageNumber", pn}, {"pageSize", QUEUE_PAGE}};
        client_call call = {.method = "GET", .path = "/asrqueue", .query = q, .nquery = 2};
        client_reply r;
        if ((rc = client_request(c, &call, &r)) != CLIENT_EXIT_OK) {
            fail(prog, &r, rc);
            break;
        }
        size_t got = 0;
        for (const xml_node *qn = xml_child(r.root, "QueueList"); qn; qn = xml_next_named(qn), got++) {
            if (all) {
                json_array_append_new(all, client_xml_json(qn, QUEUE_LISTS));
                continue;
            }
            if (nrows == cap) {
                cells = xrealloc(cells, cap * 2 * 6 * sizeof *cells);
                cap *= 2;
            }
            bool on = !strcmp(text_or(qn, "NotifyConfig/State", ""), "On");
            const char *row[6] = {text_or(qn, "QueueId", "-"), text_or(qn, "Name", "-"), text_or(qn, "State", "-"),
                                  text_or(qn, "MaxConcurrent", "-"), on ? text_or(qn, "NotifyConfig/Url", "-") : "off",
                                  text_or(qn, "UpdateTime", "-")};
            for (int k = 0; k < 6; k++)
                cells[nrows * 6 + k] = xstrdup(row[k]);
            nrows++;
        }
        long total = strtol(text_or(r.root, "TotalCount", "0"), NULL, 10);
        client_reply_free(&r);
        if (got == 0 || (long)page * atol(QUEUE_PAGE) >= total)
            break;
    }
    if (rc == CLIENT_EXIT_OK && all) {
        json_t *o = json_pack("{s:O}", "QueueList", all);
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        putchar('\n');
        json_decref(o);
    } else if (rc == CLIENT_EXIT_OK)
        client_print_table(stdout, (const char *const *)cells, nrows, 6);
    json_decref(all);
    for (size_t i = 0; i < nrows * 6; i++)
        free(cells[i]);
    free(cells);
    return rc;
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
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        putchar('\n');
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
    int rc = CLIENT_EXIT_USAGE;
    client *c = NULL;
    if (!cli_parse(prog, argc - 1, argv + 1, cc.opts, cc.nopts, pos, list ? 0 : (size_t)argc, &npos))
        goto out;
    if (cc.help) {
        queues_help();
        rc = CLIENT_EXIT_OK;
        goto out;
    }
    if (!list && !npos) {
        fprintf(stderr, "%s: name at least one queue id (see cicada queues list)\n", prog);
        goto out;
    }
    for (size_t i = 0; i < npos; i++)
        if (!ids_valid(pos[i], "p")) {
            fprintf(stderr, "%s: \"%s\" is not a queue id (p and 32 hex digits)\n", prog, pos[i]);
            goto out;
        }
    if (!(c = client_open(prog, &cc.cs)))
        goto out;
    if (list)
        rc = queues_list(c, cc.json, prog);
    else {
        rc = CLIENT_EXIT_OK;
        for (size_t i = 0; i < npos && !client_interrupted(c); i++) {
            int one = queue_set_state(c, pos[i], pause ? "Paused" : "Active", cc.json, prog);
            if (one != CLIENT_EXIT_OK && rc == CLIENT_EXIT_OK)
                rc = one;
        }
    }
    if (client_interrupted(c) && rc == CLIENT_EXIT_OK)
        rc = CLIENT_EXIT_INTERRUPTED;
out:
    client_close(c);
    free(pos);
    return rc;
}
