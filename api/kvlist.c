/* kvlist: see kvlist.h. */
#include "kvlist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int kvlist_parse(const char *s, int (*fn)(void *ctx, const char *key, const char *value), void *ctx)
{
	char *copy = strdup(s), *p = copy;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	while (p && *p && !ret) {
		char *item = p;
		int depth = 0;
		for (; *p; p++) {
			if (*p == '[')
				depth++;
			else if (*p == ']')
				depth--;
			else if (*p == ',' && depth == 0)
				break;
		}
		if (*p)
			*p++ = 0;
		else
			p = NULL;
		char *eq = strchr(item, '=');
		if (eq)
			*eq = 0;
		ret = fn(ctx, item, eq ? eq + 1 : NULL);
	}
	free(copy);
	return ret;
}
