/* vmm: see vmm.h.
 *
 * The control thread (the process's main thread) runs its own small engine: the
 * signalfd, the API server and an eventfd the machine pokes when its VM starts to
 * stop. Lifecycle calls (boot, pause, shutdown...) run there synchronously: they take
 * milliseconds, and the machine's own engine keeps serving the guest meanwhile. It is a
 * ring of its own rather than the machine's, so a machine can be torn down and rebuilt
 * (reboot, delete + create) without its devices' in-flight ops outliving them.
 *
 * When the guest itself ends the VM (power-off, exit port, fault) or a signal arrives,
 * the VMM exits with the VM's status, API socket or not: this is what Cloud Hypervisor
 * does (its control loop shuts the VMM down on the VM's exit event). A reset through the
 * ACPI reset register, like vm.reboot, rebuilds the machine from the same config in this
 * process (vmm_reboot()); the i8042 reset still ends the VMM with 0.
 * vm.shutdown and vm.delete end the VM but keep the VMM; vmm.shutdown ends both. */
#include "vmm.h"

#include "api/config_json.h"
#include "api/routes.h"
#include "api/server.h"
#include "engine/engine.h"
#include "engine/log.h"
#include "engine/sigwatch.h"
#include "engine/stream.h"
#include "kvm/vm.h"
#include "machine.h"
#include "virtio/blk.h"
#include "virtio/net.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

struct vmm {
	struct engine engine;
	struct sigwatch signals;
	struct engine_reader stop_reader;
	int stop_fd;
	struct api_server *api;
	struct api_backend backend;
	struct vm_config cfg;      /* valid unless state == API_VM_NONE */
	char *cfg_json;            /* cfg printed for vm.info */
	struct vm_config tuning;   /* the command line's engine tuning and log level, for API VMs */
	enum api_vm_state state;
	struct machine *m;
	unsigned boots;            /* of the current VM in this process; a reboot adds one */
	struct engine_timer quit_timer;
	unsigned quit_waits;
	int exit_code;
};

/* ---- lifecycle ---- */

static void on_machine_stop(void *ctx)
{
	struct vmm *v = ctx;
	uint64_t one = 1;
	/* Any thread; the control engine reads it. */
	ssize_t r = write(v->stop_fd, &one, sizeof(one));
	(void)r;
}

/* While a machine is built, the control thread's log lines still go to stderr, and the
 * last error is kept for the API's answer (it says what was wrong, e.g. a disk that
 * refuses O_DIRECT). */
struct log_capture {
	char last_error[256];
};

static void capture_sink(void *ctx, const char *line, size_t len)
{
	struct log_capture *cap = ctx;
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
	const char *e = memmem(line, len, "] error: ", 9);
	if (e) {
		size_t off = (size_t)(e + 9 - line), n = len - off;
		if (n && line[len - 1] == '\n')
			n--;
		if (n >= sizeof(cap->last_error))
			n = sizeof(cap->last_error) - 1;
		memcpy(cap->last_error, line + off, n);
		cap->last_error[n] = 0;
	}
}

static int vmm_boot(struct vmm *v, char *msg, size_t n)
{
	struct log_capture cap = { "" };
	log_set_thread_sink(capture_sink, &cap);
	int ret = machine_create(&v->cfg, v->boots++, on_machine_stop, v, &v->m);
	if (ret == 0 && (ret = machine_boot(v->m)) < 0) {
		machine_destroy(v->m);
		v->m = NULL;
	}
	log_set_thread_sink(NULL, NULL);
	if (ret < 0) {
		snprintf(msg, n, "the VM could not be built or started: %s", cap.last_error[0] ? cap.last_error : strerror(-ret));
		return ret == -ENOMEM ? 500 : 400;
	}
	v->state = API_VM_RUNNING;
	return 0;
}

/* End the machine, if any; the VM keeps its config. */
static int vmm_stop_machine(struct vmm *v)
{
	int code = 0;
	if (v->m) {
		machine_request_stop(v->m, VM_EXIT_OK, "asked through the API");
		code = machine_finish(v->m);
		machine_destroy(v->m);
		v->m = NULL;
	}
	if (v->state != API_VM_NONE)
		v->state = API_VM_SHUTDOWN;
	return code;
}

/* Tear the machine down and build it again from the same config, in this process: for
 * vm.reboot and for the guest's own reset (stop_data). */
static int vmm_reboot(struct vmm *v, char *msg, size_t n)
{
	vmm_stop_machine(v);
	return vmm_boot(v, msg, n);
}

/* Stop the control engine, once any API answer still being sent has left (e.g. the 204 of
 * vm.power-button when the guest powers off at once), for at most a second. */
static void quit_when_sent(struct engine *e, struct engine_timer *t)
{
	struct vmm *v = t->ctx;
	if (api_server_sending(v->api) && ++v->quit_waits < 1000) {
		engine_timer_arm(e, &v->quit_timer, 1000 * 1000, quit_when_sent, v);
		return;
	}
	engine_stop(e);
}

static void vmm_quit(struct vmm *v, int code)
{
	v->exit_code = code;
	if (api_server_sending(v->api)) {
		engine_timer_arm(&v->engine, &v->quit_timer, 1000 * 1000, quit_when_sent, v);
		return;
	}
	engine_stop(&v->engine);
}

/* The VM began to stop on its own (guest, fault, signal): finish it and leave. */
static void stop_data(struct engine_reader *r, const char *data, size_t len)
{
	struct vmm *v = r->ctx;
	(void)data, (void)len;
	/* A notice from a machine the API already ended is stale: the current one runs. */
	if (!v->m || !machine_stopping(v->m))
		return;
	if (machine_wants_reboot(v->m)) {
		char msg[256];
		log_info("rebooting (boot %u)", v->boots + 1);
		if (vmm_reboot(v, msg, sizeof(msg)) == 0)
			return;
		vmm_quit(v, VM_EXIT_INTERNAL); /* the log says why */
		return;
	}
	vmm_quit(v, vmm_stop_machine(v)); /* its stop request loses to the one already made */
}

static void stop_end(struct engine_reader *r, int err)
{
	(void)r;
	if (err)
		log_error("VM stop notice: %s", strerror(-err));
}

static void on_signal(struct sigwatch *s, int signo)
{
	struct vmm *v = s->ctx;
	char why[48];
	if (signo == SIGPWR) {
		if (v->m && !machine_stopping(v->m))
			machine_power_button(v->m);
		return;
	}
	snprintf(why, sizeof(why), "received %s", strsignal(signo));
	if (v->m && !machine_stopping(v->m)) {
		machine_request_stop(v->m, VM_EXIT_OK, why); /* stop_data finishes it */
		return;
	}
	if (!v->m) {
		log_info("stopping the VMM: %s", why);
		vmm_quit(v, 0);
	}
}

/* ---- the API's backend ---- */

static enum api_vm_state b_state(void *ctx) { return ((struct vmm *)ctx)->state; }
static const struct vm_config *b_config(void *ctx) { return &((struct vmm *)ctx)->cfg; }
static const char *b_config_json(void *ctx) { return ((struct vmm *)ctx)->cfg_json; }

static int b_create(void *ctx, struct vm_config *c, char *msg, size_t n)
{
	struct vmm *v = ctx;
	(void)msg, (void)n;
	c->tuning = v->tuning.tuning;
	c->log_level = v->tuning.log_level;
	v->cfg = *c; /* takes the strings */
	memset(c, 0, sizeof(*c));
	cJSON *j = config_to_json(&v->cfg);
	free(v->cfg_json);
	v->cfg_json = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	v->state = API_VM_CREATED;
	return 0;
}

static int b_boot(void *ctx, char *msg, size_t n) { return vmm_boot(ctx, msg, n); }

static int b_shutdown(void *ctx, char *msg, size_t n)
{
	(void)msg, (void)n;
	vmm_stop_machine(ctx);
	return 0;
}

static int b_reboot(void *ctx, char *msg, size_t n) { return vmm_reboot(ctx, msg, n); }

static int b_pause(void *ctx, char *msg, size_t n)
{
	struct vmm *v = ctx;
	(void)msg, (void)n;
	machine_pause(v->m);
	v->state = API_VM_PAUSED;
	return 0;
}

static int b_resume(void *ctx, char *msg, size_t n)
{
	struct vmm *v = ctx;
	(void)msg, (void)n;
	machine_resume(v->m);
	v->state = API_VM_RUNNING;
	return 0;
}

static int b_power_button(void *ctx, char *msg, size_t n)
{
	struct vmm *v = ctx;
	(void)msg, (void)n;
	/* A GED event: the guest decides what to do (the kit and Linux power off). */
	machine_power_button(v->m);
	return 0;
}

static int b_delete(void *ctx, char *msg, size_t n)
{
	struct vmm *v = ctx;
	(void)msg, (void)n;
	vmm_stop_machine(v);
	v->boots = 0;
	config_free(&v->cfg);
	free(v->cfg_json);
	v->cfg_json = NULL;
	v->state = API_VM_NONE;
	return 0;
}

static void add_u64(cJSON *o, const char *k, uint64_t x) { cJSON_AddNumberToObject(o, k, (double)x); }

static char *b_counters(void *ctx)
{
	struct vmm *v = ctx;
	cJSON *o = cJSON_CreateObject();
	for (unsigned i = 0; v->m && i < machine_disks(v->m); i++) {
		const struct blk_dev *b = machine_disk(v->m, i);
		cJSON *d = cJSON_AddObjectToObject(o, b->id);
		struct blk_queue_stats t;
		char key[48];
		blk_stats_total(b, &t);
		add_u64(d, "read_bytes", t.read_bytes);
		add_u64(d, "write_bytes", t.write_bytes);
		add_u64(d, "read_ops", t.reads);
		add_u64(d, "write_ops", t.writes);
		add_u64(d, "flush_ops", t.flushes);
		add_u64(d, "discard_ops", t.discards);
		add_u64(d, "write_zeroes_ops", t.write_zeroes);
		add_u64(d, "errors", t.errors);
		add_u64(d, "kicks", b->vdev.kicks);
		add_u64(d, "interrupts", b->vdev.interrupts);
		for (unsigned q = 0; q < b->vdev.num_queues; q++) {
			const struct blk_queue_stats *x = &b->queues[q].stats;
			snprintf(key, sizeof(key), "queue%u_read_ops", q), add_u64(d, key, x->reads);
			snprintf(key, sizeof(key), "queue%u_write_ops", q), add_u64(d, key, x->writes);
			snprintf(key, sizeof(key), "queue%u_read_bytes", q), add_u64(d, key, x->read_bytes);
			snprintf(key, sizeof(key), "queue%u_write_bytes", q), add_u64(d, key, x->write_bytes);
		}
	}
	for (unsigned i = 0; v->m && i < machine_nets(v->m); i++) {
		const struct net_dev *n = machine_net(v->m, i);
		cJSON *d = cJSON_AddObjectToObject(o, n->id);
		struct net_queue_stats t;
		char key[48];
		net_stats_total(n, &t);
		/* Cloud Hypervisor's names for a net device's counters */
		add_u64(d, "rx_bytes", t.rx_bytes);
		add_u64(d, "rx_frames", t.rx_frames);
		add_u64(d, "tx_bytes", t.tx_bytes);
		add_u64(d, "tx_frames", t.tx_frames);
		add_u64(d, "rx_dropped", t.rx_dropped);
		add_u64(d, "tx_dropped", t.tx_dropped);
		for (unsigned q = 0; q < n->pairs; q++) {
			const struct net_queue_stats *x = &n->queues[q].stats;
			snprintf(key, sizeof(key), "pair%u_rx_frames", q), add_u64(d, key, x->rx_frames);
			snprintf(key, sizeof(key), "pair%u_tx_frames", q), add_u64(d, key, x->tx_frames);
		}
	}
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

static void b_shutdown_vmm(void *ctx)
{
	struct vmm *v = ctx;
	log_info("stopping the VMM: vmm.shutdown");
	vmm_stop_machine(v);
	vmm_quit(v, 0);
}

/* ---- start and run ---- */

static void raise_fd_limit(void)
{
	/* Each API connection is a descriptor; allow what the hard limit allows. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int vmm_main(struct vm_config *c)
{
	struct vmm *v = calloc(1, sizeof(*v));
	struct engine_params p = { .node = 0, .poll_ns = 0, .name = "rv-ctl" };
	sigset_t stop_signals;
	int code = 1;

	if (!v)
		return 1;
	v->stop_fd = -1;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGHUP);
	sigaddset(&stop_signals, SIGPWR); /* the ACPI power button */
	sigwatch_block(&stop_signals);
	CPU_ZERO(&p.cpus);
	CPU_ZERO(&p.iowq_cpus);
	v->tuning.tuning = c->tuning;
	v->tuning.log_level = c->log_level;
	if (engine_init(&v->engine, &p) < 0)
		goto out;
	v->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->stop_fd < 0) {
		log_error("cannot create an eventfd: %s", strerror(errno));
		goto out;
	}
	engine_reader_start(&v->stop_reader, &v->engine, v->stop_fd, stop_data, stop_end, v);
	if (sigwatch_start(&v->signals, &v->engine, &stop_signals, on_signal, v) < 0)
		goto out;
	if (c->api.socket) {
		struct api_server_options o = { .path = c->api.socket, .timeout_ms = c->api.timeout_ms,
						.max_connections = c->api.max_connections };
		v->backend = (struct api_backend){
			.ctx = v, .state = b_state, .config = b_config, .config_json = b_config_json, .create = b_create, .boot = b_boot,
			.shutdown = b_shutdown, .reboot = b_reboot, .pause = b_pause, .resume = b_resume,
			.power_button = b_power_button, .delete_vm = b_delete, .counters = b_counters,
			.shutdown_vmm = b_shutdown_vmm,
		};
		raise_fd_limit();
		if (api_server_start(&v->api, &v->engine, &o, &v->backend) < 0)
			goto out;
	}
	if (c->payload.kernel) {
		char msg[256];
		/* The VM takes every string of c; c keeps only the API part (main frees it). */
		struct vm_config vc = *c;
		memset(&vc.api, 0, sizeof(vc.api));
		typeof(c->api) api = c->api;
		memset(c, 0, sizeof(*c));
		c->api = api;
		b_create(v, &vc, msg, sizeof(msg));
		if (vmm_boot(v, msg, sizeof(msg)))
			goto out; /* the log says why */
	}
	engine_run(&v->engine);
	code = v->exit_code;
out:
	if (v->m)
		vmm_stop_machine(v);
	api_server_destroy(v->api);
	if (v->engine.ring.ring_fd > 0)
		engine_destroy(&v->engine);
	if (v->signals.fd > 0)
		close(v->signals.fd);
	if (v->stop_fd >= 0)
		close(v->stop_fd);
	config_free(&v->cfg);
	free(v->cfg_json);
	free(v);
	return code;
}
