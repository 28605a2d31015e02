/* console.h — the web console's static files (src/console: index.html, app.js, app.css, i18n.js,
 * icon.svg), compiled into the binary at build time (embed.cmake), served by src/http at /console/.
 * The console is a plain page: every call it makes is a normal signed CI API request, computed in
 * the browser, so it has no power the API lacks. The tables are read-only and built in: every
 * function here is thread-safe and never fails other than by answering false/NULL. */
#ifndef CICADA_CONSOLE_H
#define CICADA_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

/* The file at path, relative to /console/ ("index.html", "app.js"; "" means "index.html").
 * False, with the outputs untouched, when there is no such file (no directories, no "..").
 * *data stays valid for the life of the process. */
bool console_file(const char *path, const unsigned char **data, size_t *len, const char **content_type);

/* The file's ETag (a quoted SHA-1 of its bytes, fixed at build time), or NULL when there is none. */
const char *console_file_etag(const char *path);

#endif
