/* cli_memory: the command-line options that shape guest memory and its NUMA topology
 * (--memory, --memory-zone, --numa, --cpus affinity=), in Cloud Hypervisor's syntax. */
#ifndef RV_CLI_MEMORY_H
#define RV_CLI_MEMORY_H

#include "config.h"

/* kvlist callbacks: ctx is the struct vm_config. */
int cli_memory_item(void *ctx, const char *key, const char *value);
/* One --memory-zone or --numa argument, appended to c. 0 or -EINVAL (message printed). */
int cli_memory_zone(const char *arg, struct vm_config *c);
int cli_numa(const char *arg, struct vm_config *c);
/* The value of --cpus affinity=[vcpu@[cpus],...]. */
int cli_affinity(const char *value, struct vm_config *c);

/* Shared with cli.c: one error line naming the flag; on/off values; decimal numbers. */
int cli_error(const char *flag, const char *fmt, const char *arg);
int cli_on_off(const char *flag, const char *key, const char *value, int *out);
int cli_uint(const char *s, unsigned long long max, unsigned long long *out);

#endif
