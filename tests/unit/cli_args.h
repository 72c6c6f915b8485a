/* cli_args: run the command-line parser on a NULL-terminated list of arguments, as the
 * CLI tests of several files do. */
#ifndef RV_TEST_CLI_ARGS_H
#define RV_TEST_CLI_ARGS_H

#include "api/cli.h"

static enum cli_result parse(struct vm_config *c, const char *const *args)
{
	char *argv[48];
	int argc = 0;
	argv[argc++] = "ringvisor";
	for (; *args && argc < 47; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	config_init(c);
	return cli_parse(argc, argv, c);
}

#endif
