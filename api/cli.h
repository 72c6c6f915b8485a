/* cli: the command line (Cloud Hypervisor's flags) into a struct vm_config. */
#ifndef RV_CLI_H
#define RV_CLI_H

#include "config.h"

#include <stdint.h>
#include <stdio.h>

enum cli_result { CLI_RUN, CLI_EXIT_OK, CLI_ERROR };

/* Parse argv into c. Errors are one line on stderr naming the flag. */
enum cli_result cli_parse(int argc, char **argv, struct vm_config *c);
void cli_usage(FILE *f);
/* "52:54:00:12:34:56" (a unicast address) into mac. 0 or -EINVAL. */
int cli_parse_mac(const char *s, uint8_t mac[6]);

#endif
