/* kvlist: "key=value,key=value" option strings as the CLI takes them
 * (e.g. --cpus boot=2 or --serial file=/tmp/x). Brackets group commas:
 * affinity=[0@[1,2]] stays one value. */
#ifndef RV_KVLIST_H
#define RV_KVLIST_H

/* Calls fn for each item; an item without '=' comes with value NULL.
 * Stops at and returns the first non-zero value fn returns. */
int kvlist_parse(const char *s, int (*fn)(void *ctx, const char *key, const char *value), void *ctx);

#endif
