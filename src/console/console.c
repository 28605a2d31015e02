/* console.c — looks up the console's embedded files (the table embed.cmake generates). A handful
 * of files: a linear search by name is cheaper than anything cleverer. */
#include "console/console.h"
#include "console/console_files.h"

#include <string.h>

static const console_entry *find(const char *path)
{
    if (!path)
        return NULL;
    if (!*path)
        path = "index.html";
    for (size_t i = 0; i < console_nfiles; i++)
        if (strcmp(console_files[i].name, path) == 0)
            return &console_files[i];
    return NULL;
}

bool console_file(const char *path, const unsigned char **data, size_t *len, const char **content_type)
{
    const console_entry *e = find(path);
    if (!e)
        return false;
    *data = e->data;
    *len = e->len;
    *content_type = e->content_type;
    return true;
}

const char *console_file_etag(const char *path)
{
    const console_entry *e = find(path);
    return e ? e->etag : NULL;
}
