/* ringvisor: a KVM virtual machine monitor whose data plane runs on io_uring.
 * main: parse the command line, check the host, run the machine. */
#include "api/cli.h"
#include "engine/log.h"
#include "engine/probe.h"
#include "vmm.h"

#include <signal.h>

int main(int argc, char **argv)
{
	struct vm_config c;
	int code;

	log_init();
	/* A closed stdout (e.g. piped into head) is an error on that one stream, reported by its
	 * writer; it must not kill the VM. */
	signal(SIGPIPE, SIG_IGN);
	config_init(&c);
	switch (cli_parse(argc, argv, &c)) {
	case CLI_EXIT_OK: config_free(&c); return 0;
	case CLI_ERROR: config_free(&c); return 1;
	case CLI_RUN: break;
	}
	log_set_level((enum log_level)c.log_level);
	if (engine_probe() < 0) {
		config_free(&c);
		return 1;
	}
	code = vmm_main(&c);
	config_free(&c);
	return code;
}
