/* router.c — which API operation a method and path mean. The CI paths (/asrbucket, /asrqueue,
 * /asr_jobs, /jobs, /template, /asrhotvocabtable) are reserved; every other path on a bucket host
 * is an object key. */
#include "http/http.h"

#include <string.h>

/* If path is prefix or prefix + "/" + rest, returns true and sets *rest (NULL when none). */
static bool under(const char *path, const char *prefix, const char **rest)
{
    size_t n = strlen(prefix);
    if (strncmp(path, prefix, n) != 0)
        return false;
    if (path[n] == '\0') {
        *rest = NULL;
        return true;
    }
    if (path[n] == '/') {
        *rest = path[n + 1] ? path + n + 1 : NULL;
        return true;
    }
    return false;
}

static route make(route_id id, const char *arg, bool need_bucket)
{
    return (route){.id = id, .arg = arg, .need_bucket = need_bucket};
}

static route match_jobs(const char *m, const char *rest, bool has_cancel)
{
    if (!rest) {
        if (strcmp(m, "POST") == 0)
            return make(ROUTE_JOB_SUBMIT, NULL, true);
        if (strcmp(m, "GET") == 0)
            return make(ROUTE_JOB_LIST, NULL, true);
        return make(ROUTE_BAD_METHOD, NULL, true);
    }
    if (strcmp(m, "GET") == 0)
        return make(ROUTE_JOB_DESCRIBE, rest, true);
    if (strcmp(m, "PUT") == 0 && has_cancel)
        return make(ROUTE_JOB_CANCEL, rest, true);
    return make(ROUTE_BAD_METHOD, NULL, true);
}

/* POST creates; PUT updates (the table named in the body, or in the path); GET lists or reads one;
 * DELETE needs an id. */
static route match_hotvocab(const char *m, const char *rest)
{
    if (strcmp(m, "POST") == 0 && !rest)
        return make(ROUTE_HOTVOCAB_CREATE, NULL, true);
    if (strcmp(m, "PUT") == 0)
        return make(ROUTE_HOTVOCAB_UPDATE, rest, true);
    if (strcmp(m, "GET") == 0)
        return make(rest ? ROUTE_HOTVOCAB_GET : ROUTE_HOTVOCAB_LIST, rest, true);
    if (strcmp(m, "DELETE") == 0 && rest)
        return make(ROUTE_HOTVOCAB_DELETE, rest, true);
    return make(ROUTE_BAD_METHOD, NULL, true);
}

/* POST creates, GET lists (one is read with ?ids=), PUT and DELETE name a template in the path. */
static route match_template(const char *m, const char *rest)
{
    if (!rest && strcmp(m, "POST") == 0)
        return make(ROUTE_TEMPLATE_CREATE, NULL, true);
    if (!rest && strcmp(m, "GET") == 0)
        return make(ROUTE_TEMPLATE_LIST, NULL, true);
    if (rest && strcmp(m, "PUT") == 0)
        return make(ROUTE_TEMPLATE_UPDATE, rest, true);
    if (rest && strcmp(m, "DELETE") == 0)
        return make(ROUTE_TEMPLATE_DELETE, rest, true);
    return make(ROUTE_BAD_METHOD, NULL, true);
}

static route match_objects(const char *m, const char *path)
{
    if (strcmp(path, "/") == 0) {
        if (strcmp(m, "GET") == 0)
            return make(ROUTE_OBJECT_LIST, NULL, true);
        if (strcmp(m, "PUT") == 0)
            return make(ROUTE_BUCKET_CREATE, NULL, true);
        if (strcmp(m, "HEAD") == 0)
            return make(ROUTE_BUCKET_HEAD, NULL, true);
        return make(ROUTE_BAD_METHOD, NULL, true);
    }
    const char *key = path + 1;
    if (strcmp(m, "PUT") == 0)
        return make(ROUTE_OBJECT_PUT, key, true);
    if (strcmp(m, "GET") == 0)
        return make(ROUTE_OBJECT_GET, key, true);
    if (strcmp(m, "HEAD") == 0)
        return make(ROUTE_OBJECT_HEAD, key, true);
    if (strcmp(m, "DELETE") == 0)
        return make(ROUTE_OBJECT_DELETE, key, true);
    return make(ROUTE_BAD_METHOD, NULL, true);
}

route router_match(const char *m, const char *path, bool has_cancel)
{
    const char *rest;
    if (under(path, "/asrbucket", &rest) && !rest) {
        if (strcmp(m, "POST") == 0)
            return make(ROUTE_ASRBUCKET_OPEN, NULL, true);
        if (strcmp(m, "DELETE") == 0)
            return make(ROUTE_ASRBUCKET_CLOSE, NULL, true);
        if (strcmp(m, "GET") == 0)
            return make(ROUTE_ASRBUCKET_LIST, NULL, false);
        return make(ROUTE_BAD_METHOD, NULL, false);
    }
    if (under(path, "/asrqueue", &rest)) {
        if (!rest && strcmp(m, "GET") == 0)
            return make(ROUTE_QUEUE_LIST, NULL, true);
        if (rest && strcmp(m, "PUT") == 0)
            return make(ROUTE_QUEUE_UPDATE, rest, true);
        return make(ROUTE_BAD_METHOD, NULL, true);
    }
    if (under(path, "/asr_jobs", &rest) || under(path, "/jobs", &rest))
        return match_jobs(m, rest, has_cancel);
    if (under(path, "/asrhotvocabtable", &rest))
        return match_hotvocab(m, rest);
    if (under(path, "/template", &rest))
        return match_template(m, rest);
    return match_objects(m, path);
}

void router_dispatch(api *a, const route *rt, api_request *q, api_response *r)
{
    switch (rt->id) {
    case ROUTE_ASRBUCKET_OPEN: api_bucket_open(a, q, r); break;
    case ROUTE_ASRBUCKET_CLOSE: api_bucket_close(a, q, r); break;
    case ROUTE_ASRBUCKET_LIST: api_bucket_list(a, q, r); break;
    case ROUTE_QUEUE_LIST: api_queue_list(a, q, r); break;
    case ROUTE_QUEUE_UPDATE: api_queue_update(a, q, r, rt->arg); break;
    case ROUTE_JOB_SUBMIT: api_job_submit(a, q, r); break;
    case ROUTE_JOB_LIST: api_job_list(a, q, r); break;
    case ROUTE_JOB_DESCRIBE: api_job_describe(a, q, r, rt->arg); break;
    case ROUTE_JOB_CANCEL: api_job_cancel(a, q, r, rt->arg); break;
    case ROUTE_HOTVOCAB_CREATE: api_hotvocab_create(a, q, r); break;
    case ROUTE_HOTVOCAB_UPDATE: api_hotvocab_update(a, q, r, rt->arg); break;
    case ROUTE_HOTVOCAB_GET: api_hotvocab_get(a, q, r, rt->arg); break;
    case ROUTE_HOTVOCAB_LIST: api_hotvocab_list(a, q, r); break;
    case ROUTE_HOTVOCAB_DELETE: api_hotvocab_delete(a, q, r, rt->arg); break;
    case ROUTE_TEMPLATE_CREATE: api_template_create(a, q, r); break;
    case ROUTE_TEMPLATE_UPDATE: api_template_update(a, q, r, rt->arg); break;
    case ROUTE_TEMPLATE_LIST: api_template_list(a, q, r); break;
    case ROUTE_TEMPLATE_DELETE: api_template_delete(a, q, r, rt->arg); break;
    case ROUTE_BUCKET_CREATE: api_bucket_create(a, q, r); break;
    case ROUTE_BUCKET_HEAD: api_bucket_head(a, q, r); break;
    case ROUTE_OBJECT_LIST: api_object_list(a, q, r); break;
    case ROUTE_OBJECT_GET:
    case ROUTE_OBJECT_HEAD: api_object_get(a, q, r, rt->arg); break;
    case ROUTE_OBJECT_DELETE: api_object_delete(a, q, r, rt->arg); break;
    case ROUTE_OBJECT_PUT:   /* streamed by the server, never dispatched here */
    case ROUTE_BAD_METHOD:
    case ROUTE_NONE:
        api_error(r, q, 405, "MethodNotAllowed", "%s is not allowed on %s", q->method, q->path);
        break;
    }
}
