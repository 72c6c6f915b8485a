/* cli: see cli.h. */
#include "cli.h"

#include "cli_memory.h"

#include "engine/log.h"
#include "kvlist.h"
#include "kvm/guest_mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef RV_VERSION
#define RV_VERSION "unknown"
#endif

void config_init(struct vm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->cpus.boot_vcpus = 1;
	c->memory.size = CONFIG_DEFAULT_MEMORY;
	c->memory.shared = 0;
	c->serial.mode = SERIAL_TTY;
	c->tuning.engine_poll_ns = 200 * 1000;
	c->tuning.batch_ns = 200 * 1000;
	c->tuning.vcpu_spin_ns = 100 * 1000;
	c->log_level = LOG_INFO;
	c->api.timeout_ms = 10000;
	c->api.max_connections = 1024;
}

void config_free(struct vm_config *c)
{
	free(c->payload.kernel);
	free(c->payload.initramfs);
	free(c->payload.cmdline);
	free(c->serial.file);
	free(c->api.socket);
	free(c->dump_acpi);
	for (unsigned i = 0; i < c->n_disks; i++) {
		free(c->disks[i].path);
		free(c->disks[i].id);
		free(c->disks[i].serial);
	}
	for (unsigned i = 0; i < c->memory.n_zones; i++)
		free(c->memory.zones[i].id);
	for (unsigned i = 0; i < c->n_numa; i++)
		for (unsigned k = 0; k < c->numa[i].n_zones; k++)
			free(c->numa[i].zones[k]);
	free(c->cpus.affinity);
	for (unsigned i = 0; i < c->n_nets; i++) {
		free(c->nets[i].tap);
		free(c->nets[i].ip);
		free(c->nets[i].mask);
		free(c->nets[i].id);
	}
	memset(c, 0, sizeof(*c));
}

void cli_usage(FILE *f)
{
	fprintf(f,
		"usage: ringvisor [options]\n"
		"  --kernel PATH            kernel: a bzImage, or an ELF with a PVH entry note\n"
		"  --initramfs PATH         initramfs handed to the kernel\n"
		"  --cmdline STRING         kernel command line\n"
		"  --cpus boot=N[,max=N][,affinity=[VCPU@[HOSTCPUS],...]]\n"
		"                           vCPUs (1..%d, and no more than KVM allows); affinity pins vCPU threads\n"
		"  --memory size=SIZE[,hugepages=on][,hugepage_size=2M|1G][,shared=on|off][,prefault=on]\n"
		"                           guest RAM, e.g. 512M, 4G (default 512M); size=0 with --memory-zone.\n"
		"                           shared=off (default): private memory with transparent huge pages;\n"
		"                           on: a memfd (for backends that map guest RAM)\n"
		"  --memory-zone id=NAME,size=SIZE[,host_numa_node=N][,hugepages=on][,hugepage_size=2M|1G]\n"
		"              [,prefault=on][,shared=on|off]\n"
		"                           a piece of guest RAM with its own backing, bound to a host node (repeatable)\n"
		"  --numa guest_numa_id=N,cpus=[VCPUS],memory_zones=[NAMES][,distances=[NODE@DIST,...]]\n"
		"                           a guest NUMA node (repeatable); every vCPU and zone in exactly one node\n"
		"  --disk path=FILE[,readonly=on][,direct=on|off][,num_queues=N][,queue_size=N][,serial=ID][,id=NAME]\n"
		"         [,transport=pci|mmio][,numa_node=N]\n"
		"                           a virtio-blk disk (repeatable); O_DIRECT and one queue per vCPU\n"
		"                           by default, queue_size 256; over PCI unless transport or --platform says mmio;\n"
		"                           numa_node: the guest NUMA node it belongs to (its host node's engine serves it)\n"
		"  --platform virtio_transport=pci|mmio\n"
		"                           the default transport of virtio devices (default pci); virtio-mmio devices\n"
		"                           are in the DSDT and appended to the command line as virtio_mmio.device=\n"
		"  --dump-acpi DIR          also write the ACPI tables as DIR/<SIG>.dat (for iasl -d)\n"
		"  --net tap=NAME[,mac=MAC][,ip=ADDR,mask=MASK][,num_queues=2N][,queue_size=N][,id=NAME]\n"
		"        [,transport=pci|mmio]\n"
		"                           a virtio-net device on a TAP (repeatable); the TAP is created\n"
		"                           if missing (and removed at exit), given the host address ip/mask and\n"
		"                           brought up; num_queues counts RX+TX queues (default 2: one pair),\n"
		"                           queue_size 256, MAC random locally administered unless given\n"
		"  --serial tty|file=PATH|off|null\n"
		"                           COM1: the terminal (default; input from stdin), a file, or nowhere\n"
		"  --engine poll_us=N,io_poll_us=N,batch_us=N,vcpu_spin_us=N,fixed_buffers=on|off\n"
		"                           how long an idle engine polls before sleeping (default 200),\n"
		"                           the same while io-wq workers finish disk I/O, e.g. on tmpfs (default 0),\n"
		"                           on a CPU another thread wants: wait this long between passes\n"
		"                           instead of polling (default 200; 0: always poll),\n"
		"                           how long a vCPU spins for a device read's reply (default 100),\n"
		"                           guest RAM registered (pinned) with the ring for zero-copy I/O (default off)\n"
		"  --api-socket PATH | path=PATH[,timeout_ms=N][,max_connections=N]\n"
		"                           serve Cloud Hypervisor's HTTP API (/api/v1/...) on a Unix socket; with it\n"
		"                           --kernel is optional (the VM can come from vm.create). A stale socket file is\n"
		"                           replaced, a live one refused. timeout_ms (default 10000): a request must\n"
		"                           arrive, and its reply leave, within it; max_connections (default 1024):\n"
		"                           beyond it a connection gets 503 (beyond twice it, it is closed unanswered).\n"
		"                           When the guest powers off or faults, the VMM\n"
		"                           exits with its status as without the API (as Cloud Hypervisor does)\n"
		"  --log-level error|warn|info|debug\n"
		"  -h, --help               this text\n"
		"  -V, --version            the version\n"
		"Signals: SIGINT/SIGTERM/SIGHUP stop the VM; SIGPWR presses the ACPI power button (the guest\n"
		"powers off). A reset through the ACPI reset register reboots the VM in the same process.\n"
		"Exit status: 0 when the guest powers off, resets through the i8042 or writes 0 to the exit\n"
		"port (0xf4), or on SIGINT/SIGTERM/SIGHUP; the exit port's value otherwise; 1 for a bad option or a failed\n"
		"start; 3 when the guest faults fatally (registers are printed); 4 for an internal error.\n"
		"With --api-socket: 0 after vmm.shutdown or a signal while no VM runs. Client for the API:\n"
		"ringvisor-remote --api-socket PATH <ping|create FILE|boot|info|pause|resume|shutdown|reboot|\n"
		"power-button|delete|counters|shutdown-vmm>.\n",
		CONFIG_MAX_VCPUS);
}

static int bad(const char *flag, const char *fmt, const char *arg)
{
	fprintf(stderr, "ringvisor: error: %s: ", flag);
	fprintf(stderr, fmt, arg ? arg : "");
	fprintf(stderr, "\n");
	return -EINVAL;
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return (errno || *end || *out > max) ? -EINVAL : 0;
}

static int cpus_item(void *ctx, const char *key, const char *value)
{
	struct vm_config *c = ctx;
	unsigned long long n;

	if (!strcmp(key, "boot") || !strcmp(key, "max")) {
		if (parse_uint(value, ~0u, &n) || n == 0 || n > CONFIG_MAX_VCPUS) {
			fprintf(stderr, "ringvisor: error: --cpus %s=%s: must be a number from 1 to %d\n", key,
				value ? value : "", CONFIG_MAX_VCPUS);
			return -EINVAL;
		}
		if (!strcmp(key, "boot"))
			c->cpus.boot_vcpus = (unsigned)n;
		else
			c->cpus.max_vcpus = (unsigned)n;
		return 0;
	}
	if (!strcmp(key, "affinity"))
		return cli_affinity(value, c);
	return bad("--cpus", "unknown option '%s' (known: boot, max, affinity)", key);
}

static int serial_item(void *ctx, const char *key, const char *value)
{
	struct vm_config *c = ctx;
	if (!value && !strcmp(key, "tty"))
		c->serial.mode = SERIAL_TTY;
	else if (!value && !strcmp(key, "off"))
		c->serial.mode = SERIAL_OFF;
	else if (!value && !strcmp(key, "null"))
		c->serial.mode = SERIAL_NULL;
	else if (!strcmp(key, "file") && value && *value) {
		c->serial.mode = SERIAL_FILE;
		free(c->serial.file);
		c->serial.file = strdup(value);
	} else
		return bad("--serial", "'%s' is not one of tty, file=PATH, off, null", key);
	return 0;
}

static int on_off(const char *flag, const char *key, const char *value, int *out)
{
	if (value && !strcmp(value, "on"))
		*out = 1;
	else if (value && !strcmp(value, "off"))
		*out = 0;
	else {
		fprintf(stderr, "ringvisor: error: %s %s=%s: must be on or off\n", flag, key, value ? value : "");
		return -EINVAL;
	}
	return 0;
}

static int transport(const char *flag, const char *key, const char *value, enum virtio_transport *out)
{
	if (value && !strcmp(value, "pci"))
		*out = TRANSPORT_PCI;
	else if (value && !strcmp(value, "mmio"))
		*out = TRANSPORT_MMIO;
	else {
		fprintf(stderr, "ringvisor: error: %s %s=%s: must be pci or mmio\n", flag, key, value ? value : "");
		return -EINVAL;
	}
	return 0;
}

static int platform_item(void *ctx, const char *key, const char *value)
{
	struct vm_config *c = ctx;
	if (!strcmp(key, "virtio_transport"))
		return transport("--platform", key, value, &c->platform.virtio_transport);
	return bad("--platform", "unknown option '%s' (known: virtio_transport)", key);
}

static int disk_item(void *ctx, const char *key, const char *value)
{
	struct disk_config *d = ctx;
	unsigned long long n;

	if (!strcmp(key, "path") && value && *value) {
		set_str(&d->path, value);
	} else if (!strcmp(key, "id") && value && *value && strlen(value) < 24) {
		set_str(&d->id, value);
	} else if (!strcmp(key, "serial") && value && strlen(value) <= 20) {
		set_str(&d->serial, value);
	} else if (!strcmp(key, "readonly")) {
		return on_off("--disk", key, value, &d->readonly);
	} else if (!strcmp(key, "direct")) {
		return on_off("--disk", key, value, &d->direct);
	} else if (!strcmp(key, "transport")) {
		return transport("--disk", key, value, &d->transport);
	} else if (!strcmp(key, "num_queues")) {
		if (parse_uint(value, 64, &n) || !n)
			return bad("--disk", "num_queues='%s' must be 1..64", value);
		d->num_queues = (unsigned)n;
	} else if (!strcmp(key, "queue_size")) {
		if (parse_uint(value, 1024, &n) || n < 2 || (n & (n - 1)))
			return bad("--disk", "queue_size='%s' must be a power of two from 2 to 1024", value);
		d->queue_size = (unsigned)n;
	} else if (!strcmp(key, "numa_node")) {
		if (parse_uint(value, CONFIG_MAX_NUMA_NODES * 16, &n))
			return bad("--disk", "numa_node='%s' must be a guest NUMA node id", value);
		d->numa_node = (int)n;
	} else if (!strcmp(key, "path") || !strcmp(key, "id") || !strcmp(key, "serial")) {
		fprintf(stderr, "ringvisor: error: --disk %s='%s': %s\n", key, value ? value : "",
			!strcmp(key, "serial") ? "at most 20 characters" : !strcmp(key, "id") ? "1 to 23 characters" : "empty");
		return -EINVAL;
	} else {
		return bad("--disk", "unknown option '%s' (known: path, readonly, direct, num_queues, queue_size, serial, id, transport, numa_node)", key);
	}
	return 0;
}

static int api_item(void *ctx, const char *key, const char *value)
{
	struct vm_config *c = ctx;
	unsigned long long n;
	if (!strcmp(key, "path") && value && *value) {
		set_str(&c->api.socket, value);
	} else if (!strcmp(key, "timeout_ms")) {
		if (parse_uint(value, 3600 * 1000, &n) || !n)
			return bad("--api-socket", "timeout_ms='%s' must be 1..3600000", value);
		c->api.timeout_ms = (unsigned)n;
	} else if (!strcmp(key, "max_connections")) {
		if (parse_uint(value, 65536, &n) || !n)
			return bad("--api-socket", "max_connections='%s' must be 1..65536", value);
		c->api.max_connections = (unsigned)n;
	} else {
		return bad("--api-socket", "unknown option '%s' (known: path, timeout_ms, max_connections)", key);
	}
	return 0;
}

static int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int cli_parse_mac(const char *s, uint8_t mac[6])
{
	/* By hand: sscanf's %x would take a sign or blanks ("-2:..." as fe). */
	if (!s || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return (mac[0] & 1) ? -EINVAL : 0; /* a multicast address cannot be a station's */
}

static int net_item(void *ctx, const char *key, const char *value)
{
	struct net_config *n = ctx;
	unsigned long long v;
	struct in_addr a;

	if (!strcmp(key, "tap") && value && *value && strlen(value) < 16) {
		set_str(&n->tap, value);
	} else if (!strcmp(key, "id") && value && *value && strlen(value) < 24) {
		set_str(&n->id, value);
	} else if (!strcmp(key, "mac")) {
		if (cli_parse_mac(value, n->mac))
			return bad("--net", "mac='%s' is not a unicast MAC address like 52:54:00:12:34:56", value);
		n->has_mac = 1;
	} else if (!strcmp(key, "ip") || !strcmp(key, "mask")) {
		if (!value || inet_pton(AF_INET, value, &a) != 1) {
			fprintf(stderr, "ringvisor: error: --net %s='%s': not an IPv4 address\n", key, value ? value : "");
			return -EINVAL;
		}
		set_str(!strcmp(key, "ip") ? &n->ip : &n->mask, value);
	} else if (!strcmp(key, "num_queues")) {
		if (parse_uint(value, 32, &v) || v < 2 || (v & 1))
			return bad("--net", "num_queues='%s' must be an even number from 2 to 32 (RX and TX queues)", value);
		n->num_queues = (unsigned)v;
	} else if (!strcmp(key, "queue_size")) {
		if (parse_uint(value, 1024, &v) || v < 2 || (v & (v - 1)))
			return bad("--net", "queue_size='%s' must be a power of two from 2 to 1024", value);
		n->queue_size = (unsigned)v;
	} else if (!strcmp(key, "transport")) {
		return transport("--net", key, value, &n->transport);
	} else if (!strcmp(key, "tap") || !strcmp(key, "id")) {
		fprintf(stderr, "ringvisor: error: --net %s='%s': %s\n", key, value ? value : "",
			!strcmp(key, "tap") ? "1 to 15 characters" : "1 to 23 characters");
		return -EINVAL;
	} else {
		return bad("--net", "unknown option '%s' (known: tap, mac, ip, mask, num_queues, queue_size, id, transport)", key);
	}
	return 0;
}

static int engine_item(void *ctx, const char *key, const char *value)
{
	struct vm_config *c = ctx;
	unsigned long long n;
	if (!strcmp(key, "fixed_buffers"))
		return on_off("--engine", key, value, &c->tuning.fixed_buffers);
	if (parse_uint(value, 10 * 1000 * 1000, &n))
		return bad("--engine", "'%s' needs a number of microseconds up to 10000000", key);
	if (!strcmp(key, "poll_us"))
		c->tuning.engine_poll_ns = n * 1000;
	else if (!strcmp(key, "vcpu_spin_us"))
		c->tuning.vcpu_spin_ns = n * 1000;
	else if (!strcmp(key, "io_poll_us"))
		c->tuning.io_poll_ns = n * 1000;
	else if (!strcmp(key, "batch_us"))
		c->tuning.batch_ns = n * 1000;
	else
		return bad("--engine", "unknown option '%s' (known: poll_us, io_poll_us, batch_us, vcpu_spin_us, fixed_buffers)", key);
	return 0;
}


enum cli_result cli_parse(int argc, char **argv, struct vm_config *c)
{
	enum { O_KERNEL = 256, O_INITRAMFS, O_CMDLINE, O_CPUS, O_MEMORY, O_SERIAL, O_ENGINE, O_LOG, O_DISK, O_API, O_PLATFORM,
	       O_DUMP_ACPI, O_MEMORY_ZONE, O_NUMA, O_NET };
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, O_KERNEL },
		{ "initramfs", required_argument, NULL, O_INITRAMFS },
		{ "cmdline", required_argument, NULL, O_CMDLINE },
		{ "cpus", required_argument, NULL, O_CPUS },
		{ "memory", required_argument, NULL, O_MEMORY },
		{ "serial", required_argument, NULL, O_SERIAL },
		{ "disk", required_argument, NULL, O_DISK },
		{ "memory-zone", required_argument, NULL, O_MEMORY_ZONE },
		{ "numa", required_argument, NULL, O_NUMA },
		{ "net", required_argument, NULL, O_NET },
		{ "engine", required_argument, NULL, O_ENGINE },
		{ "log-level", required_argument, NULL, O_LOG },
		{ "api-socket", required_argument, NULL, O_API },
		{ "platform", required_argument, NULL, O_PLATFORM },
		{ "dump-acpi", required_argument, NULL, O_DUMP_ACPI },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	bool vm_flags = false;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":hV", opts, NULL)) != -1) {
		int ret = 0;
		/* Everything but the kernel itself and the VMM's own settings describes a VM. */
		if (opt > O_KERNEL && opt != O_ENGINE && opt != O_LOG && opt != O_API)
			vm_flags = true;
		switch (opt) {
		case O_KERNEL: set_str(&c->payload.kernel, optarg); break;
		case O_INITRAMFS: set_str(&c->payload.initramfs, optarg); break;
		case O_CMDLINE: set_str(&c->payload.cmdline, optarg); break;
		case O_CPUS: ret = kvlist_parse(optarg, cpus_item, c); break;
		case O_MEMORY: ret = kvlist_parse(optarg, cli_memory_item, c); break;
		case O_MEMORY_ZONE: ret = cli_memory_zone(optarg, c); break;
		case O_NUMA: ret = cli_numa(optarg, c); break;
		case O_SERIAL: ret = kvlist_parse(optarg, serial_item, c); break;
		case O_ENGINE: ret = kvlist_parse(optarg, engine_item, c); break;
		case O_API:
			/* A bare path (which may hold commas), or a key list that starts with a key:
			 * path=PATH[,timeout_ms=N][,max_connections=N] in any order. */
			if (strncmp(optarg, "path=", 5) && strncmp(optarg, "timeout_ms=", 11) &&
			    strncmp(optarg, "max_connections=", 16))
				set_str(&c->api.socket, optarg);
			else
				ret = kvlist_parse(optarg, api_item, c);
			if (!ret && !c->api.socket)
				ret = bad("--api-socket", "path=PATH is required%s", "");
			break;
		case O_PLATFORM: ret = kvlist_parse(optarg, platform_item, c); break;
		case O_DUMP_ACPI: set_str(&c->dump_acpi, optarg); break;
		case O_DISK: {
			if (c->n_disks == CONFIG_MAX_DISKS) {
				fprintf(stderr, "ringvisor: error: --disk: at most %d disks\n", CONFIG_MAX_DISKS);
				return CLI_ERROR;
			}
			struct disk_config *d = &c->disks[c->n_disks++];
			d->direct = 1;
			d->numa_node = CONFIG_NO_NODE;
			ret = kvlist_parse(optarg, disk_item, d);
			if (!ret && !d->path) {
				fprintf(stderr, "ringvisor: error: --disk %s: path=FILE is required\n", optarg);
				return CLI_ERROR;
			}
			if (!ret && !d->id) {
				char id[16];
				snprintf(id, sizeof(id), "disk%u", c->n_disks - 1);
				set_str(&d->id, id);
			}
			break;
		}
		case O_NET: {
			if (c->n_nets == CONFIG_MAX_NETS) {
				fprintf(stderr, "ringvisor: error: --net: at most %d network devices\n", CONFIG_MAX_NETS);
				return CLI_ERROR;
			}
			struct net_config *n = &c->nets[c->n_nets++];
			ret = kvlist_parse(optarg, net_item, n);
			if (!ret && !n->tap) {
				fprintf(stderr, "ringvisor: error: --net %s: tap=NAME is required\n", optarg);
				return CLI_ERROR;
			}
			if (!ret && !n->ip != !n->mask) {
				fprintf(stderr, "ringvisor: error: --net %s: ip= and mask= go together\n", optarg);
				return CLI_ERROR;
			}
			if (!ret && !n->id) {
				char id[16];
				snprintf(id, sizeof(id), "net%u", c->n_nets - 1);
				set_str(&n->id, id);
			}
			break;
		}
		case O_LOG:
			if (!strcmp(optarg, "error")) c->log_level = LOG_ERROR;
			else if (!strcmp(optarg, "warn")) c->log_level = LOG_WARN;
			else if (!strcmp(optarg, "info")) c->log_level = LOG_INFO;
			else if (!strcmp(optarg, "debug")) c->log_level = LOG_DEBUG;
			else ret = bad("--log-level", "'%s' is not one of error, warn, info, debug", optarg);
			break;
		case 'h': cli_usage(stdout); return CLI_EXIT_OK;
		case 'V': printf("ringvisor %s\n", RV_VERSION); return CLI_EXIT_OK;
		case ':':
			fprintf(stderr, "ringvisor: error: %s needs a value (see --help)\n", argv[optind - 1]);
			return CLI_ERROR;
		default:
			fprintf(stderr, "ringvisor: error: unknown option '%s' (see --help)\n", argv[optind - 1]);
			return CLI_ERROR;
		}
		if (ret)
			return CLI_ERROR;
	}
	if (optind < argc) {
		fprintf(stderr, "ringvisor: error: unexpected argument '%s' (see --help)\n", argv[optind]);
		return CLI_ERROR;
	}
	if (!c->payload.kernel && c->api.socket) {
		if (vm_flags) {
			fprintf(stderr, "ringvisor: error: VM options without --kernel: give --kernel too, or create the VM "
					"through the API (vm.create)\n");
			return CLI_ERROR;
		}
		return CLI_RUN; /* the VM comes from vm.create */
	}
	if (!c->payload.kernel) {
		fprintf(stderr, "ringvisor: error: no kernel given: use --kernel PATH (a bzImage or a PVH ELF), or "
				"--api-socket PATH to create the VM through the API\n");
		return CLI_ERROR;
	}
	if (c->cpus.max_vcpus && c->cpus.max_vcpus < c->cpus.boot_vcpus) {
		fprintf(stderr, "ringvisor: error: --cpus max=%u is below boot=%u\n", c->cpus.max_vcpus,
			c->cpus.boot_vcpus);
		return CLI_ERROR;
	}
	if (!c->cpus.max_vcpus)
		c->cpus.max_vcpus = c->cpus.boot_vcpus;
	char why[160];
	if (config_check_memory(c, why, sizeof(why))) {
		fprintf(stderr, "ringvisor: error: %s\n", why);
		return CLI_ERROR;
	}
	return CLI_RUN;
}

int cli_error(const char *flag, const char *fmt, const char *arg) { return bad(flag, fmt, arg); }
int cli_on_off(const char *flag, const char *key, const char *value, int *out) { return on_off(flag, key, value, out); }
int cli_uint(const char *s, unsigned long long max, unsigned long long *out) { return parse_uint(s, max, out); }
