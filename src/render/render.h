/* render.h — the response trees of the CI ASR API (JobsDetail, QueueList, AsrBucketList,
 * hot-vocabulary tables, templates) described once and written through a tree_out: either XML text
 * (an xml_writer) or a JSON object (callbacks in JSON format carry the same tree: repeated elements
 * become arrays, every leaf a string, as XML-to-JSON does).
 *
 * It sits below both src/api (response bodies) and src/notify (callback bodies, rendered when the
 * outbox row is sent), so it knows the store's types, the XML writer and jansson, and nothing of
 * HTTP or of the API. Pure functions of their arguments: thread-safe. */
#ifndef CICADA_RENDER_H
#define CICADA_RENDER_H

#include <stdbool.h>

#include <jansson.h>

#include "store/store.h"
#include "xml/xml.h"

typedef struct tree_out tree_out;
tree_out *tree_xml(xml_writer *w);        /* writes into w, which the caller keeps */
tree_out *tree_json(void);                /* builds a JSON object */
json_t *tree_json_take(tree_out *t);      /* the finished JSON object; frees t */
void tree_free(tree_out *t);

/* <JobsDetail>...</JobsDetail> as a repeated item; region fills Input/Region and Output/Region
 * when the job names none. */
void render_job(tree_out *t, const store_job *j, const char *region);
void render_speech(tree_out *t, const job_params *p);   /* <SpeechRecognition> with every default filled in */
/* A queue as a repeated <QueueList> item, or as the single <Queue> an update answers. */
void render_queue(tree_out *t, const store_queue *q, const char *element);
void render_bucket(tree_out *t, const store_bucket *b);                  /* <AsrBucketList>... */
/* A hot-vocabulary table's fields (TableId ... UpdateTime): inside the current element when element
 * is NULL, else as a repeated <element> item (the list's HotVocabularyTable). */
void render_hotvocab(tree_out *t, const store_hotvocab *h, const char *element);
/* A template as the create/update answer's <Template> or a list's repeated <TemplateList>. */
void render_template(tree_out *t, const store_template *tpl, const char *element);
/* The callback body for a job that ended: EventName TaskFinish and the job's JobsDetail (a single
 * object in JSON), XML (application/xml) or JSON (application/json) as *content_type says. Heap
 * string; never NULL. */
char *render_callback(const store_job *j, const char *region, bool json, const char **content_type);

#endif
