/* cli: see cli.h. */
#include "cli.h"

#include "engine/log.h"
#include "kvlist.h"
#include "kvm/guest_mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
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
	c->serial.mode = SERIAL_TTY;
	c->tuning.engine_poll_ns = 200 * 1000;
	c->tuning.vcpu_spin_ns = 100 * 1000;
	c->log_level = LOG_INFO;
}

void config_free(struct vm_config *c)
{
	free(c->payload.kernel);
	free(c->payload.initramfs);
	free(c->payload.cmdline);
	free(c->serial.file);
	for (unsigned i = 0; i < c->n_disks; i++) {
		free(c->disks[i].path);
		free(c->disks[i].id);
		free(c->disks[i].serial);
	}
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
		"  --cpus boot=N            vCPUs (1..%d, and no more than KVM allows)\n"
		"  --memory size=SIZE       guest RAM, e.g. 512M, 4G (default 512M)\n"
		"  --disk path=FILE[,readonly=on][,direct=on|off][,num_queues=N][,queue_size=N][,serial=ID][,id=NAME]\n"
		"                           a virtio-blk disk over PCI (repeatable); O_DIRECT and one queue per vCPU\n"
		"                           by default, queue_size 256\n"
		"  --net tap=NAME[,mac=MAC][,ip=ADDR,mask=MASK][,num_queues=2N][,queue_size=N][,id=NAME]\n"
		"                           a virtio-net device over PCI on a TAP (repeatable); the TAP is created\n"
		"                           if missing (and removed at exit), given the host address ip/mask and\n"
		"                           brought up; num_queues counts RX+TX queues (default 2: one pair),\n"
		"                           queue_size 256, MAC random locally administered unless given\n"
		"  --serial tty|file=PATH|off|null\n"
		"                           COM1: the terminal (default; input from stdin), a file, or nowhere\n"
		"  --engine poll_us=N,io_poll_us=N,vcpu_spin_us=N,fixed_buffers=on|off\n"
		"                           how long an idle engine polls before sleeping (default 200),\n"
		"                           the same while io-wq workers finish disk I/O, e.g. on tmpfs (default 0),\n"
		"                           how long a vCPU spins for a device read's reply (default 100),\n"
		"                           guest RAM registered (pinned) with the ring for zero-copy I/O (default off)\n"
		"  --log-level error|warn|info|debug\n"
		"  -h, --help               this text\n"
		"  -V, --version            the version\n"
		"Exit status: 0 when the guest powers off, resets or writes 0 to the exit port (0xf4),\n"
		"or on SIGINT/SIGTERM; the exit port's value otherwise; 1 for a bad option or a failed\n"
		"start; 3 when the guest faults fatally (registers are printed); 4 for an internal error.\n",
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
	return bad("--cpus", "unknown option '%s' (known: boot, max)", key);
}

static int memory_item(void *ctx, const char *key, const char *value)
{
	struct vm_config *c = ctx;
	if (!strcmp(key, "size")) {
		if (parse_size(value, &c->memory.size) || c->memory.size == 0)
			return bad("--memory", "size='%s' is not a size greater than zero (e.g. 512M, 4G)", value);
		return 0;
	}
	return bad("--memory", "unknown option '%s' (known: size)", key);
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
	} else if (!strcmp(key, "num_queues")) {
		if (parse_uint(value, 64, &n) || !n)
			return bad("--disk", "num_queues='%s' must be 1..64", value);
		d->num_queues = (unsigned)n;
	} else if (!strcmp(key, "queue_size")) {
		if (parse_uint(value, 1024, &n) || n < 2 || (n & (n - 1)))
			return bad("--disk", "queue_size='%s' must be a power of two from 2 to 1024", value);
		d->queue_size = (unsigned)n;
	} else if (!strcmp(key, "path") || !strcmp(key, "id") || !strcmp(key, "serial")) {
		fprintf(stderr, "ringvisor: error: --disk %s='%s': %s\n", key, value ? value : "",
			!strcmp(key, "serial") ? "at most 20 characters" : !strcmp(key, "id") ? "1 to 23 characters" : "empty");
		return -EINVAL;
	} else {
		return bad("--disk", "unknown option '%s' (known: path, readonly, direct, num_queues, queue_size, serial, id)", key);
	}
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;
	if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &end) != 6 ||
	    strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
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
		if (parse_mac(value, n->mac))
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
	} else if (!strcmp(key, "tap") || !strcmp(key, "id")) {
		fprintf(stderr, "ringvisor: error: --net %s='%s': %s\n", key, value ? value : "",
			!strcmp(key, "tap") ? "1 to 15 characters" : "1 to 23 characters");
		return -EINVAL;
	} else {
		return bad("--net", "unknown option '%s' (known: tap, mac, ip, mask, num_queues, queue_size, id)", key);
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
	else
		return bad("--engine", "unknown option '%s' (known: poll_us, io_poll_us, vcpu_spin_us, fixed_buffers)", key);
	return 0;
}


enum cli_result cli_parse(int argc, char **argv, struct vm_config *c)
{
	enum { O_KERNEL = 256, O_INITRAMFS, O_CMDLINE, O_CPUS, O_MEMORY, O_SERIAL, O_ENGINE, O_LOG, O_DISK, O_NET };
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, O_KERNEL },
		{ "initramfs", required_argument, NULL, O_INITRAMFS },
		{ "cmdline", required_argument, NULL, O_CMDLINE },
		{ "cpus", required_argument, NULL, O_CPUS },
		{ "memory", required_argument, NULL, O_MEMORY },
		{ "serial", required_argument, NULL, O_SERIAL },
		{ "disk", required_argument, NULL, O_DISK },
		{ "net", required_argument, NULL, O_NET },
		{ "engine", required_argument, NULL, O_ENGINE },
		{ "log-level", required_argument, NULL, O_LOG },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":hV", opts, NULL)) != -1) {
		int ret = 0;
		switch (opt) {
		case O_KERNEL: set_str(&c->payload.kernel, optarg); break;
		case O_INITRAMFS: set_str(&c->payload.initramfs, optarg); break;
		case O_CMDLINE: set_str(&c->payload.cmdline, optarg); break;
		case O_CPUS: ret = kvlist_parse(optarg, cpus_item, c); break;
		case O_MEMORY: ret = kvlist_parse(optarg, memory_item, c); break;
		case O_SERIAL: ret = kvlist_parse(optarg, serial_item, c); break;
		case O_ENGINE: ret = kvlist_parse(optarg, engine_item, c); break;
		case O_DISK: {
			if (c->n_disks == CONFIG_MAX_DISKS) {
				fprintf(stderr, "ringvisor: error: --disk: at most %d disks\n", CONFIG_MAX_DISKS);
				return CLI_ERROR;
			}
			struct disk_config *d = &c->disks[c->n_disks++];
			d->direct = 1;
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
	if (!c->payload.kernel) {
		fprintf(stderr, "ringvisor: error: no kernel given: use --kernel PATH (a bzImage or a PVH ELF)\n");
		return CLI_ERROR;
	}
	if (c->cpus.max_vcpus && c->cpus.max_vcpus < c->cpus.boot_vcpus) {
		fprintf(stderr, "ringvisor: error: --cpus max=%u is below boot=%u\n", c->cpus.max_vcpus,
			c->cpus.boot_vcpus);
		return CLI_ERROR;
	}
	if (!c->cpus.max_vcpus)
		c->cpus.max_vcpus = c->cpus.boot_vcpus;
	return CLI_RUN;
}
