/* Unit tests for the command line: what each flag puts in the VmConfig, and that
 * every malformed flag is refused. */
#include "check.h"

#include "api/cli.h"
#include "cli_args.h"
#include "api/kvlist.h"
#include "engine/log.h"

#include <stdio.h>

static void test_cli_full(void)
{
	struct vm_config c;
	const char *args[] = { "--kernel", "k", "--initramfs", "i", "--cmdline", "a b", "--cpus", "boot=4,max=8",
			       "--memory", "size=2G", "--serial", "file=/tmp/s", "--engine", "poll_us=5,vcpu_spin_us=7",
			       "--log-level", "debug", NULL };
	CHECK_EQ(parse(&c, args), CLI_RUN);
	CHECK(!strcmp(c.payload.kernel, "k") && !strcmp(c.payload.initramfs, "i") && !strcmp(c.payload.cmdline, "a b"));
	CHECK_EQ(c.cpus.boot_vcpus, 4);
	CHECK_EQ(c.cpus.max_vcpus, 8);
	CHECK_EQ(c.memory.size, 2ull << 30);
	CHECK_EQ(c.serial.mode, SERIAL_FILE);
	CHECK(!strcmp(c.serial.file, "/tmp/s"));
	CHECK_EQ(c.tuning.engine_poll_ns, 5000);
	CHECK_EQ(c.tuning.vcpu_spin_ns, 7000);
	CHECK_EQ(c.log_level, LOG_DEBUG);
	config_free(&c);
}

static void test_cli_defaults(void)
{
	struct vm_config c;
	const char *args[] = { "--kernel", "k", NULL };
	CHECK_EQ(parse(&c, args), CLI_RUN);
	CHECK_EQ(c.cpus.boot_vcpus, 1);
	CHECK_EQ(c.cpus.max_vcpus, 1);
	CHECK_EQ(c.memory.size, CONFIG_DEFAULT_MEMORY);
	CHECK_EQ(c.serial.mode, SERIAL_TTY);
	config_free(&c);
}

static void test_cli_platform(void)
{
	struct vm_config c;
	const char *args[] = { "--kernel", "k", "--disk", "path=a,transport=mmio", "--disk", "path=b", "--disk",
			       "path=c,transport=pci", "--platform", "virtio_transport=mmio", "--dump-acpi", "/tmp/t", NULL };
	CHECK_EQ(parse(&c, args), CLI_RUN);
	CHECK_EQ(c.n_disks, 3);
	CHECK_EQ(c.disks[0].transport, TRANSPORT_MMIO);
	CHECK_EQ(c.disks[1].transport, TRANSPORT_DEFAULT);
	CHECK_EQ(c.disks[2].transport, TRANSPORT_PCI);
	CHECK_EQ(c.platform.virtio_transport, TRANSPORT_MMIO);
	CHECK(c.dump_acpi && !strcmp(c.dump_acpi, "/tmp/t"));
	config_free(&c);
	const char *plain[] = { "--kernel", "k", NULL };
	CHECK_EQ(parse(&c, plain), CLI_RUN);
	CHECK_EQ(c.platform.virtio_transport, TRANSPORT_DEFAULT);
	CHECK(!c.dump_acpi);
	config_free(&c);
}

static void test_cli_errors(void)
{
	static const char *const bad[][6] = {
		{ "--kernel", "k", "--cpus", "boot=0", NULL },
		{ "--kernel", "k", "--cpus", "boot=255", NULL },
		{ "--kernel", "k", "--cpus", "boot=x", NULL },
		{ "--kernel", "k", "--cpus", "boot=", NULL },
		{ "--kernel", "k", "--cpus", "boot=4,max=2", NULL },
		{ "--kernel", "k", "--memory", "size=0", NULL },
		{ "--kernel", "k", "--memory", "4G", NULL },
		{ "--kernel", "k", "--serial", "file=", NULL },
		{ "--kernel", "k", "--serial", "pty", NULL },
		{ "--kernel", "k", "--engine", "poll_us=-1", NULL },
		{ "--kernel", "k", "--log-level", "loud", NULL },
		{ "--kernel", "k", "--bogus", NULL },
		{ "--kernel", NULL },
		{ "--memory", "size=1G", NULL },
		{ "--kernel", "k", "stray", NULL },
		{ "--kernel", "k", "--disk", "path=a,transport=usb", NULL },
		{ "--kernel", "k", "--disk", "path=a,transport", NULL },
		{ "--kernel", "k", "--platform", "virtio_transport=ccw", NULL },
		{ "--kernel", "k", "--platform", "num_pci_segments=2", NULL },
		{ "--kernel", "k", "--dump-acpi", NULL },
	};
	FILE *saved = stderr;
	stderr = fopen("/dev/null", "w");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vm_config c;
		enum cli_result r = parse(&c, bad[i]);
		config_free(&c);
		if (r != CLI_ERROR) {
			fclose(stderr);
			stderr = saved;
			printf("# case %zu accepted\n", i);
			CHECK(r == CLI_ERROR);
		}
	}
	fclose(stderr);
	stderr = saved;
}

static void test_cli_api_socket(void)
{
	struct vm_config c;
	const char *bare[] = { "--api-socket", "/tmp/rv.sock", NULL };
	CHECK_EQ(parse(&c, bare), CLI_RUN); /* no --kernel needed: the VM comes from vm.create */
	CHECK(!strcmp(c.api.socket, "/tmp/rv.sock") && !c.payload.kernel);
	CHECK_EQ(c.api.timeout_ms, 10000);
	config_free(&c);
	const char *kv[] = { "--api-socket", "path=/tmp/a.sock,timeout_ms=500,max_connections=8", "--kernel", "k", NULL };
	CHECK_EQ(parse(&c, kv), CLI_RUN);
	CHECK(!strcmp(c.api.socket, "/tmp/a.sock") && !strcmp(c.payload.kernel, "k"));
	CHECK_EQ(c.api.timeout_ms, 500);
	CHECK_EQ(c.api.max_connections, 8);
	config_free(&c);
	const char *comma[] = { "--api-socket", "/tmp/rv,a.sock", NULL }; /* a bare path with a comma */
	CHECK_EQ(parse(&c, comma), CLI_RUN);
	CHECK(!strcmp(c.api.socket, "/tmp/rv,a.sock"));
	config_free(&c);
	static const char *const bad[][5] = {
		{ "--api-socket", "path=/x,timeout_ms=0", NULL },
		{ "--api-socket", "path=/x,bogus=1", NULL },
		{ "--api-socket", "timeout_ms=5", NULL },
		{ "--api-socket", "/x", "--disk", "path=/d", NULL }, /* VM options without a kernel */
		{ "--api-socket", "/x", "--net", "tap=t", NULL },     /* (these five were dropped silently) */
		{ "--api-socket", "/x", "--memory-zone", "id=z,size=1G", NULL },
		{ "--api-socket", "/x", "--numa", "guest_numa_id=0", NULL },
		{ "--api-socket", "/x", "--platform", "virtio_transport=mmio", NULL },
		{ "--api-socket", "/x", "--dump-acpi", "/tmp/d", NULL },
		{ "--cpus", "boot=2", NULL },                        /* neither kernel nor API */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(parse(&c, bad[i]), CLI_ERROR);
		config_free(&c);
	}
}

static int collect(void *ctx, const char *k, const char *v)
{
	char *out = ctx;
	strcat(out, k);
	strcat(out, "=");
	strcat(out, v ? v : "(null)");
	strcat(out, ";");
	return 0;
}

static void test_kvlist(void)
{
	char out[256] = "";
	CHECK_EQ(kvlist_parse("boot=2,affinity=[0@[1,2],1@[3]],tty", collect, out), 0);
	CHECK(!strcmp(out, "boot=2;affinity=[0@[1,2],1@[3]];tty=(null);"));
}

int main(void)
{
	log_init();
	RUN(test_cli_full);
	RUN(test_cli_defaults);
	RUN(test_cli_platform);
	RUN(test_cli_errors);
	RUN(test_cli_api_socket);
	RUN(test_kvlist);
	CHECK_EXIT();
}
