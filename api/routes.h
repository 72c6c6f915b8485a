/* routes: the /api/v1/ endpoint table (Cloud Hypervisor's names, methods and status
 * codes) over a backend that owns the VM. The table decides 404 (unknown path, or no
 * VM), 405 (wrong method, or a call in the wrong state) and 400 (bad body) before the
 * backend is called, so the backend only sees calls that make sense. */
#ifndef RV_ROUTES_H
#define RV_ROUTES_H

#include "config.h"

#include <stddef.h>

enum api_vm_state { API_VM_NONE, API_VM_CREATED, API_VM_RUNNING, API_VM_PAUSED, API_VM_SHUTDOWN };

const char *api_vm_state_name(enum api_vm_state s);

/* Each action returns 0 (done) or an HTTP status >= 400 with msg filled. */
struct api_backend {
	void *ctx;
	enum api_vm_state (*state)(void *ctx);
	const struct vm_config *(*config)(void *ctx);
	/* Required: config_to_json(config()) already printed (it only changes at vm.create),
	 * so vm.info pollers cost no JSON tree. Without it (or a NULL answer) vm.info is a 500. */
	const char *(*config_json)(void *ctx);
	int (*create)(void *ctx, struct vm_config *c, char *msg, size_t n); /* takes c's contents on success */
	int (*boot)(void *ctx, char *msg, size_t n);
	int (*shutdown)(void *ctx, char *msg, size_t n);
	int (*reboot)(void *ctx, char *msg, size_t n);
	int (*pause)(void *ctx, char *msg, size_t n);
	int (*resume)(void *ctx, char *msg, size_t n);
	int (*power_button)(void *ctx, char *msg, size_t n);
	int (*delete_vm)(void *ctx, char *msg, size_t n);
	/* vm.counters: a JSON object (malloc'd text) or NULL */
	char *(*counters)(void *ctx);
	/* vmm.shutdown: run after its response has been sent */
	void (*shutdown_vmm)(void *ctx);
};

struct api_response {
	int status;
	char *body;                 /* malloc'd JSON, or NULL */
	void (*after_send)(void *ctx);
	void *after_ctx;
};

/* What the routes keep between requests (zero-initialised by the caller, one per server;
 * not thread-safe: one engine thread serves it). */
struct routes_cache {
	char *ping;                 /* vmm.ping's body: constant for the process, built on first use */
};

void routes_handle(struct routes_cache *rc, const struct api_backend *b, const char *method, const char *path,
		   const char *body, size_t body_len, struct api_response *r);
void routes_cache_free(struct routes_cache *rc);
/* {"error": msg} with status into r. */
void routes_error(struct api_response *r, int status, const char *msg);

#endif
