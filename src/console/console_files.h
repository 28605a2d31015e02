/* console_files.h — private to src/console: the table embed.cmake generates. */
#ifndef CICADA_CONSOLE_FILES_H
#define CICADA_CONSOLE_FILES_H

#include <stddef.h>

typedef struct console_entry {
    const char *name;              /* relative to /console/, e.g. "app.js" */
    const unsigned char *data;
    size_t len;
    const char *content_type;
    const char *etag;              /* "\"<sha1 hex>\"" */
} console_entry;

extern const console_entry console_files[];
extern const size_t console_nfiles;

#endif
