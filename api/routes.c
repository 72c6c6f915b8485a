/* routes: see routes.h. */
#include "routes.h"

#include "config_json.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef RV_VERSION
#define RV_VERSION "unknown"
#endif

#define API_PREFIX "/api/v1/"

const char *api_vm_state_name(enum api_vm_state s)
{
	switch (s) {
	case API_VM_CREATED: return "Created";
	case API_VM_RUNNING: return "Running";
	case API_VM_PAUSED: return "Paused";
	case API_VM_SHUTDOWN: return "Shutdown";
	default: return "None";
	}
}

void routes_error(struct api_response *r, int status, const char *msg)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", msg);
	free(r->body);
	r->body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	r->status = status;
}

enum need { ANY, NEED_VM, NEED_BOOTABLE, NEED_RUNNING, NEED_PAUSED, NEED_BOOTED, NEED_NO_VM };

typedef void (*route_fn)(struct routes_cache *rc, const struct api_backend *b, const char *body, size_t len,
			 struct api_response *r);
typedef int (*action_fn)(void *ctx, char *msg, size_t n);

struct route {
	const char *name;
	const char *method;
	enum need need;
	route_fn fn;
	size_t action; /* offset of the backend action for simple PUTs */
};

static void do_ping(struct routes_cache *rc, const struct api_backend *b, const char *body, size_t len,
		    struct api_response *r)
{
	(void)b, (void)body, (void)len;
	if (!rc->ping) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "build_version", RV_VERSION);
		cJSON_AddStringToObject(o, "version", RV_VERSION);
		cJSON_AddNumberToObject(o, "pid", (double)getpid());
		cJSON_AddItemToObject(o, "features", cJSON_CreateArray());
		rc->ping = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
	}
	/* A copy: the server frees every body it has sent. */
	r->body = rc->ping ? strdup(rc->ping) : NULL;
	r->status = r->body ? 200 : 500;
}

static void do_vmm_shutdown(struct routes_cache *rc, const struct api_backend *b, const char *body, size_t len,
			    struct api_response *r)
{
	(void)rc, (void)body, (void)len;
	r->status = 204;
	r->after_send = b->shutdown_vmm;
	r->after_ctx = b->ctx;
}

static void do_info(struct routes_cache *rc, const struct api_backend *b, const char *body, size_t len,
		    struct api_response *r)
{
	(void)rc, (void)body, (void)len;
	const char *cfg = b->config_json ? b->config_json(b->ctx) : NULL;
	if (!cfg) {
		routes_error(r, 500, "the VM's configuration could not be printed");
		return;
	}
	/* The rest is a few short fields: 96 bytes hold them. */
	size_t n = strlen(cfg) + 96;
	r->body = malloc(n);
	if (!r->body) {
		routes_error(r, 500, "out of memory");
		return;
	}
	snprintf(r->body, n, "{\"config\":%s,\"state\":\"%s\",\"memory_actual_size\":%llu}", cfg,
		 api_vm_state_name(b->state(b->ctx)), (unsigned long long)b->config(b->ctx)->memory.size);
	r->status = 200;
}

static void do_counters(struct routes_cache *rc, const struct api_backend *b, const char *body, size_t len,
			struct api_response *r)
{
	(void)rc, (void)body, (void)len;
	r->body = b->counters(b->ctx);
	r->status = r->body ? 200 : 500;
	if (!r->body)
		routes_error(r, 500, "out of memory");
}

static void do_create(struct routes_cache *rc, const struct api_backend *b, const char *body, size_t len,
		      struct api_response *r)
{
	(void)rc;
	struct vm_config c;
	char msg[256];

	config_init(&c);
	if (config_from_json(body, len, &c, msg, sizeof(msg)) < 0) {
		config_free(&c);
		routes_error(r, 400, msg);
		return;
	}
	int st = b->create(b->ctx, &c, msg, sizeof(msg));
	if (st) {
		config_free(&c);
		routes_error(r, st, msg);
		return;
	}
	r->status = 204;
}

static const struct route routes[] = {
	{ "vmm.ping", "GET", ANY, do_ping, 0 },
	{ "vmm.shutdown", "PUT", ANY, do_vmm_shutdown, 0 },
	{ "vm.create", "PUT", NEED_NO_VM, do_create, 0 },
	{ "vm.info", "GET", NEED_VM, do_info, 0 },
	{ "vm.counters", "GET", NEED_BOOTED, do_counters, 0 },
	{ "vm.boot", "PUT", NEED_BOOTABLE, NULL, offsetof(struct api_backend, boot) },
	{ "vm.shutdown", "PUT", NEED_BOOTED, NULL, offsetof(struct api_backend, shutdown) },
	{ "vm.reboot", "PUT", NEED_BOOTED, NULL, offsetof(struct api_backend, reboot) },
	{ "vm.pause", "PUT", NEED_RUNNING, NULL, offsetof(struct api_backend, pause) },
	{ "vm.resume", "PUT", NEED_PAUSED, NULL, offsetof(struct api_backend, resume) },
	{ "vm.power-button", "PUT", NEED_BOOTED, NULL, offsetof(struct api_backend, power_button) },
	{ "vm.delete", "PUT", NEED_VM, NULL, offsetof(struct api_backend, delete_vm) },
};

/* 404/405 for the state, or 0 */
static int check_state(enum need need, enum api_vm_state s, const char **why)
{
	bool vm = s != API_VM_NONE;
	switch (need) {
	case ANY:
		return 0;
	case NEED_NO_VM:
		*why = "a VM is already created (vm.delete it first)";
		return vm ? 405 : 0;
	default:
		break;
	}
	if (!vm) {
		*why = "no VM is created (vm.create first)";
		return 404;
	}
	switch (need) {
	case NEED_BOOTABLE:
		*why = s == API_VM_PAUSED ? "the VM is already booted (it is paused)" : "the VM is already booted";
		return s == API_VM_CREATED || s == API_VM_SHUTDOWN ? 0 : 405;
	case NEED_RUNNING:
		*why = s == API_VM_PAUSED ? "the VM is already paused" : "the VM is not running (vm.boot first)";
		return s == API_VM_RUNNING ? 0 : 405;
	case NEED_PAUSED:
		*why = s == API_VM_RUNNING ? "the VM is running, not paused" : "the VM is not booted";
		return s == API_VM_PAUSED ? 0 : 405;
	case NEED_BOOTED:
		*why = "the VM is not booted (vm.boot first)";
		return s == API_VM_RUNNING || s == API_VM_PAUSED ? 0 : 405;
	default:
		return 0;
	}
}

void routes_handle(struct routes_cache *rc, const struct api_backend *b, const char *method, const char *path,
		   const char *body, size_t body_len, struct api_response *r)
{
	char msg[300];
	const char *name = path, *why = "";
	const struct route *rt = NULL;

	memset(r, 0, sizeof(*r));
	if (!strncmp(path, API_PREFIX, strlen(API_PREFIX))) {
		name = path + strlen(API_PREFIX);
		for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
			if (!strcmp(routes[i].name, name)) {
				rt = &routes[i];
				break;
			}
	}
	if (!rt) {
		snprintf(msg, sizeof(msg), "no such endpoint: %.200s", path);
		routes_error(r, 404, msg);
		return;
	}
	if (strcmp(method, rt->method)) {
		snprintf(msg, sizeof(msg), "%s takes %s, not %.16s", rt->name, rt->method, method);
		routes_error(r, 405, msg);
		return;
	}
	int st = check_state(rt->need, b->state(b->ctx), &why);
	if (st) {
		snprintf(msg, sizeof(msg), "%s: %s", rt->name, why);
		routes_error(r, st, msg);
		return;
	}
	if (rt->fn) {
		if (rt->fn != do_create && body_len) {
			/* CH's clients send no body here; a body is most likely a mistaken call. */
			snprintf(msg, sizeof(msg), "%s takes no request body", rt->name);
			routes_error(r, 400, msg);
			return;
		}
		rt->fn(rc, b, body, body_len, r);
		return;
	}
	action_fn fn = *(const action_fn *)((const char *)b + rt->action);
	msg[0] = 0;
	st = fn(b->ctx, msg, sizeof(msg));
	if (st)
		routes_error(r, st, msg[0] ? msg : "failed");
	else
		r->status = 204;
}

void routes_cache_free(struct routes_cache *rc)
{
	free(rc->ping);
	rc->ping = NULL;
}
