/* linger.h — private to src/http: lingering close for connections answered before their body was
 * read (see linger.c). */
#ifndef CICADA_HTTP_LINGER_H
#define CICADA_HTTP_LINGER_H

typedef struct linger linger;

/* Starts the lingering thread; NULL if it cannot (linger_add then simply closes). */
linger *linger_start(void);
/* Takes fd (a socket whose answer is sent and whose sending side is shut): reads and discards what
 * still arrives for a bounded time and amount, then closes it. Never blocks. */
void linger_add(linger *l, int fd);
/* Stops the thread and closes every socket still lingering. */
void linger_stop(linger *l);

#endif
