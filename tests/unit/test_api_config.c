/* Unit tests for VmConfig JSON (what each field puts in struct vm_config, and that
 * every bad input is refused with a message naming the field) and for the route table
 * (404/405/400 by path, method and VM state, over a fake backend). */
#include "check.h"

#include "api/config_json.h"
#include "api/routes.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <unistd.h>

static char kernel[] = "/tmp/rv-api-kernel-XXXXXX";
static char disk[] = "/tmp/rv-api-disk-XXXXXX";

static int from(const char *json, struct vm_config *c, char *err)
{
	config_init(c);
	return config_from_json(json, strlen(json), c, err, 256);
}

/* json with %1$s = kernel path, %2$s = disk path */
static int fromf(const char *fmt, struct vm_config *c, char *err)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), fmt, kernel, disk);
	return from(buf, c, err);
}

static void test_config_ch_shaped(void)
{
	struct vm_config c;
	char err[256];
	/* The shape of Cloud Hypervisor's documented vm.create body. */
	int r = fromf("{\"cpus\":{\"boot_vcpus\":2,\"max_vcpus\":2},\"memory\":{\"size\":1073741824,\"shared\":false},"
		      "\"payload\":{\"kernel\":\"%1$s\",\"cmdline\":\"console=ttyS0 root=/dev/vda1 rw\"},"
		      "\"disks\":[{\"path\":\"%2$s\"},{\"path\":\"%2$s\",\"readonly\":true,\"id\":\"ro\",\"serial\":\"S1\","
		      "\"num_queues\":2,\"queue_size\":64,\"direct\":false}],\"rng\":{\"src\":\"/dev/urandom\"},"
		      "\"serial\":{\"mode\":\"File\",\"file\":\"/tmp/x\"},\"console\":{\"mode\":\"Off\"},\"iommu\":false,"
		      "\"net\":[{\"tap\":\"tap0\",\"mac\":\"52:54:00:00:00:01\",\"ip\":\"172.30.9.1\",\"mask\":\"255.255.255.0\"}]}",
		      &c, err);
	if (r)
		printf("# %s\n", err);
	CHECK_EQ(r, 0);
	CHECK_EQ(c.cpus.boot_vcpus, 2);
	CHECK_EQ(c.cpus.max_vcpus, 2);
	CHECK_EQ(c.memory.size, 1ull << 30);
	CHECK(!strcmp(c.payload.kernel, kernel));
	CHECK(!strcmp(c.payload.cmdline, "console=ttyS0 root=/dev/vda1 rw"));
	CHECK_EQ(c.n_disks, 2);
	CHECK(!strcmp(c.disks[0].id, "disk0") && c.disks[0].direct == 1 && !c.disks[0].readonly);
	CHECK(!strcmp(c.disks[1].id, "ro") && c.disks[1].readonly && !c.disks[1].direct);
	CHECK(!strcmp(c.disks[1].serial, "S1"));
	CHECK_EQ(c.disks[1].num_queues, 2);
	CHECK_EQ(c.disks[1].queue_size, 64);
	CHECK_EQ(c.serial.mode, SERIAL_FILE);
	CHECK_EQ(c.n_nets, 1);
	CHECK(!strcmp(c.nets[0].tap, "tap0") && c.nets[0].has_mac && c.nets[0].mac[5] == 1 && !strcmp(c.nets[0].id, "net0"));

	/* Round trip: vm.info's config parses back to the same VM. */
	cJSON *j = config_to_json(&c);
	char *text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	struct vm_config d;
	r = from(text, &d, err);
	if (r)
		printf("# %s\n", err);
	CHECK_EQ(r, 0);
	CHECK_EQ(d.cpus.boot_vcpus, 2);
	CHECK_EQ(d.memory.size, 1ull << 30);
	CHECK_EQ(d.n_disks, 2);
	CHECK(d.disks[1].readonly && !strcmp(d.disks[1].id, "ro"));
	CHECK(d.n_nets == 1 && !strcmp(d.nets[0].ip, "172.30.9.1") && d.nets[0].mac[0] == 0x52);
	free(text);
	config_free(&c);
	config_free(&d);
}

/* Memory zones, guest NUMA nodes and vCPU affinity in Cloud Hypervisor's shapes, and back. */
static void test_config_numa(void)
{
	struct vm_config c, d;
	char err[256];
	int r = fromf("{\"cpus\":{\"boot_vcpus\":2,\"affinity\":[{\"vcpu\":1,\"host_cpus\":[0,1]}]},"
		      "\"memory\":{\"size\":0,\"zones\":[{\"id\":\"m0\",\"size\":536870912,\"host_numa_node\":0,"
		      "\"hugepages\":true,\"hugepage_size\":2097152,\"prefault\":true},{\"id\":\"m1\",\"size\":268435456}]},"
		      "\"numa\":[{\"guest_numa_id\":0,\"cpus\":[0],\"distances\":[{\"destination\":1,\"distance\":20}],"
		      "\"memory_zones\":[\"m0\"]},{\"guest_numa_id\":1,\"cpus\":[1],\"memory_zones\":[\"m1\"]}],"
		      "\"payload\":{\"kernel\":\"%1$s\"},\"disks\":[{\"path\":\"%2$s\",\"numa_node\":1}]}", &c, err);
	if (r)
		printf("# %s\n", err);
	CHECK_EQ(r, 0);
	CHECK_EQ(c.memory.n_zones, 2);
	CHECK(c.memory.zones[0].hugepages && c.memory.zones[0].prefault && c.memory.zones[0].host_numa_node == 0);
	CHECK_EQ(c.memory.zones[1].host_numa_node, CONFIG_NO_NODE);
	CHECK_EQ(c.n_numa, 2);
	CHECK_EQ(c.numa[0].distances[0].distance, 20);
	CHECK_EQ(config_vcpu_numa(&c, 1), 1);
	CHECK_EQ(c.cpus.n_affinity, 1);
	CHECK(CPU_ISSET(1, &c.cpus.affinity[0].host_cpus));
	CHECK_EQ(c.disks[0].numa_node, 1);
	cJSON *j = config_to_json(&c);
	char *text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	r = from(text, &d, err);
	if (r)
		printf("# %s: %s\n", err, text);
	free(text);
	CHECK_EQ(r, 0);
	CHECK(d.memory.n_zones == 2 && d.n_numa == 2 && d.cpus.n_affinity == 1 && d.disks[0].numa_node == 1);
	CHECK(!strcmp(d.numa[1].zones[0], "m1") && d.memory.zones[0].hugepage_size == 2ull << 20);
	config_free(&c);
	config_free(&d);
}

static void test_config_defaults(void)
{
	struct vm_config c;
	char err[256];
	CHECK_EQ(fromf("{\"payload\":{\"kernel\":\"%1$s\"}}", &c, err), 0);
	CHECK_EQ(c.cpus.boot_vcpus, 1);
	CHECK_EQ(c.cpus.max_vcpus, 1);
	CHECK_EQ(c.memory.size, CONFIG_DEFAULT_MEMORY);
	CHECK_EQ(c.serial.mode, SERIAL_NULL); /* Cloud Hypervisor's default */
	config_free(&c);
}

static void test_config_errors(void)
{
	static const struct { const char *json, *want; } cases[] = {
		{ "{", "invalid JSON" },
		{ "[]", "must be an object" },
		{ "{}", "payload: required" },
		{ "{\"payload\":{}}", "payload.kernel: required" },
		{ "{\"payload\":{\"kernel\":\"/nonexistent/k\"}}", "payload.kernel: /nonexistent/k: No such file" },
		{ "{\"payload\":{\"kernel\":5}}", "payload.kernel: must be a string" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"bogus\":1}", "bogus: unknown field" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"cpus\":{\"boot_vcpus\":0}}", "cpus.boot_vcpus: must be an integer from 1" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"cpus\":{\"boot_vcpus\":1.5}}", "cpus.boot_vcpus" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"cpus\":{\"boot_vcpus\":\"2\"}}", "cpus.boot_vcpus" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"cpus\":{\"boot_vcpus\":300}}", "cpus.boot_vcpus" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"cpus\":{\"boot_vcpus\":4,\"max_vcpus\":2}}", "cpus.max_vcpus: 2 is below" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"cpus\":{\"boot_vcpus\":1,\"cpu\":2}}", "cpus.cpu: unknown field" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"cpus\":{\"topology\":{}}}", "cpus.topology: not supported" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"memory\":{}}", "memory.size: required" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"memory\":{\"size\":-1}}", "memory.size" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"memory\":{\"size\":1000}}", "memory.size: 1000 is not a multiple" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"memory\":{\"size\":1e300}}", "memory.size" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"memory\":{\"size\":1048576,\"hugepage_size\":4096}}", "memory.hugepage_size: 4096 must be" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"memory\":{\"size\":1048576,\"zones\":[{\"id\":\"a\",\"size\":1048576}]}}", "must be 0 when" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"memory\":{\"size\":0,\"zones\":[{\"size\":1048576}]}}", "memory.zones[0].id: required" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"memory\":{\"size\":0,\"zones\":[{\"id\":\"a\",\"size\":1048576,\"file\":\"/x\"}]}}", "memory.zones[0].file: not supported" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"memory\":{\"size\":0,\"zones\":[{\"id\":\"a\",\"size\":1048576}]},\"numa\":[{\"guest_numa_id\":0,\"cpus\":[0],\"memory_zones\":[\"b\"]}]}", "no --memory-zone id=b" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"numa\":[{\"guest_numa_id\":0,\"cpus\":[\"x\"]}]}", "numa[0].cpus" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"cpus\":{\"affinity\":[{\"vcpu\":0}]}}", "cpus.affinity[0].host_cpus: required" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"cpus\":{\"affinity\":[{\"vcpu\":3,\"host_cpus\":[0]}]}}", "vCPU 3 is beyond" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"disks\":{}}", "disks: must be an array" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"disks\":[{}]}", "disks[0].path: required" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"disks\":[{\"path\":\"/nonexistent/d\"}]}", "disks[0].path: /nonexistent/d" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"disks\":[{\"path\":\"%2$s\",\"queue_size\":100}]}", "disks[0].queue_size: 100 is not a power" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"disks\":[{\"path\":\"%2$s\",\"readonly\":\"yes\"}]}", "disks[0].readonly: must be true or false" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"disks\":[{\"path\":\"%2$s\",\"vhost_user\":true}]}", "disks[0].vhost_user: true is not supported" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"disks\":[{\"path\":\"%2$s\",\"image_type\":\"Qcow2\"}]}", "disks[0].image_type" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"disks\":[{\"path\":\"%2$s\"},{\"path\":\"%2$s\",\"id\":\"disk0\"}]}", "disks[1].id: \"disk0\" is used twice" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"disks\":[{\"path\":\"%2$s\",\"serial\":\"123456789012345678901\"}]}", "disks[0].serial" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"net\":[{\"ip\":\"1.2.3.4\"}]}", "net[0].tap: required" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"net\":[{\"tap\":\"t0\",\"mac\":\"01:00:00:00:00:01\"}]}", "net[0].mac: not a unicast" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"net\":[{\"tap\":\"t0\",\"num_queues\":3}]}", "net[0].num_queues: 3 must be even" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"net\":[{\"tap\":\"t0\",\"mtu\":9000}]}", "net[0].mtu: not supported" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"net\":[{\"tap\":\"t0\",\"ip\":\"172.30.1.1\"}]}", "net[0]: ip and mask go together" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"serial\":{\"mode\":\"Pty\"}}", "serial.mode: \"Pty\" is not supported" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"serial\":{\"mode\":\"File\"}}", "serial.file: required" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"console\":{\"mode\":\"Tty\"}}", "console.mode: \"Tty\" needs virtio-console" },
		{ "{\"payload\":{\"kernel\":\"%1$s\",\"firmware\":\"/x\"}}", "payload.firmware: not supported" },
		{ "{\"payload\":{\"kernel\":\"%1$s\"},\"vsock\":{\"cid\":3}}", "vsock: not supported" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vm_config c;
		char err[256] = "";
		int r = fromf(cases[i].json, &c, err);
		if (r == 0 || !strstr(err, cases[i].want))
			printf("# case %zu: got %d '%s', want '%s'\n", i, r, err, cases[i].want);
		CHECK(r < 0);
		CHECK(strstr(err, cases[i].want));
		config_free(&c);
	}
}

/* "transport" reads the same for disks and nets, and only a chosen one is printed back. */
static void test_config_transport(void)
{
	struct vm_config c;
	char err[256];
	int r = fromf("{\"payload\":{\"kernel\":\"%1$s\"},\"disks\":[{\"path\":\"%2$s\",\"transport\":\"Mmio\"},"
		      "{\"path\":\"%2$s\"}],\"net\":[{\"tap\":\"t0\",\"transport\":\"Pci\"},{\"tap\":\"t1\",\"transport\":\"Mmio\"}]}",
		      &c, err);
	if (r)
		printf("# %s\n", err);
	CHECK_EQ(r, 0);
	CHECK_EQ(c.disks[0].transport, TRANSPORT_MMIO);
	CHECK_EQ(c.disks[1].transport, TRANSPORT_DEFAULT);
	CHECK_EQ(c.nets[0].transport, TRANSPORT_PCI);
	CHECK_EQ(c.nets[1].transport, TRANSPORT_MMIO);
	cJSON *j = config_to_json(&c);
	char *text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	struct vm_config d;
	r = from(text, &d, err);
	CHECK_EQ(r, 0);
	CHECK_EQ(d.disks[0].transport, TRANSPORT_MMIO);
	CHECK_EQ(d.disks[1].transport, TRANSPORT_DEFAULT);
	CHECK_EQ(d.nets[0].transport, TRANSPORT_PCI);
	CHECK_EQ(d.nets[1].transport, TRANSPORT_MMIO);
	free(text);
	config_free(&c);
	config_free(&d);
	static const char *const bad[] = {
		"{\"payload\":{\"kernel\":\"%1$s\"},\"disks\":[{\"path\":\"%2$s\",\"transport\":\"Usb\"}]}",
		"{\"payload\":{\"kernel\":\"%1$s\"},\"net\":[{\"tap\":\"t0\",\"transport\":1}]}",
	};
	static const char *const want[] = { "disks[0].transport: must be", "net[0].transport: must be" };
	for (size_t i = 0; i < 2; i++) {
		CHECK(fromf(bad[i], &c, err) < 0);
		CHECK(strstr(err, want[i]));
		config_free(&c);
	}
}

/* ---- routes over a fake backend ---- */
static enum api_vm_state fake_state;
static int fake_calls;
static struct vm_config fake_cfg;
static enum api_vm_state st(void *ctx) { (void)ctx; return fake_state; }
static const struct vm_config *cfg(void *ctx) { (void)ctx; return &fake_cfg; }
static int create(void *ctx, struct vm_config *c, char *m, size_t n)
{
	(void)ctx, (void)m, (void)n;
	config_free(&fake_cfg);
	fake_cfg = *c;
	memset(c, 0, sizeof(*c));
	fake_state = API_VM_CREATED;
	fake_calls++;
	return 0;
}
static int act(void *ctx, char *m, size_t n) { (void)ctx, (void)m, (void)n; fake_calls++; return 0; }
static int boot(void *ctx, char *m, size_t n) { act(ctx, m, n); fake_state = API_VM_RUNNING; return 0; }
static int pause_(void *ctx, char *m, size_t n) { act(ctx, m, n); fake_state = API_VM_PAUSED; return 0; }
static int nobutton(void *ctx, char *m, size_t n) { (void)ctx; snprintf(m, n, "no power button"); return 409; }
static char *counters(void *ctx) { (void)ctx; return strdup("{}"); }
/* Printed per call, as the fake's config can change under it; vmm.c prints at vm.create. */
static char *fake_json;
static const char *cfg_json(void *ctx)
{
	(void)ctx;
	cJSON *j = config_to_json(&fake_cfg);
	free(fake_json);
	fake_json = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return fake_json;
}
static const struct api_backend fake = { .state = st, .config = cfg, .config_json = cfg_json, .create = create,
					 .boot = boot, .shutdown = act, .reboot = act, .pause = pause_, .resume = act,
					 .power_button = nobutton, .delete_vm = act, .counters = counters };
static struct routes_cache cache;

static int call(const char *method, const char *path, const char *body, char **out)
{
	struct api_response r;
	routes_handle(&cache, &fake, method, path, body, body ? strlen(body) : 0, &r);
	if (out)
		*out = r.body;
	else
		free(r.body);
	return r.status;
}

static void test_routes_states(void)
{
	char *body, json[512];
	fake_state = API_VM_NONE;
	fake_calls = 0;
	CHECK_EQ(call("GET", "/api/v1/vmm.ping", NULL, NULL), 200);
	CHECK_EQ(call("GET", "/api/v1/nope", NULL, &body), 404);
	CHECK(strstr(body, "\"error\""));
	free(body);
	CHECK_EQ(call("GET", "/api/v2/vmm.ping", NULL, NULL), 404);
	CHECK_EQ(call("PUT", "/api/v1/vmm.ping", NULL, NULL), 405);
	CHECK_EQ(call("GET", "/api/v1/vm.boot", NULL, NULL), 405);
	/* No VM: 404 for everything that needs one. */
	static const char *const need_vm[] = { "vm.boot", "vm.shutdown", "vm.reboot", "vm.pause", "vm.resume",
					       "vm.power-button", "vm.delete" };
	for (size_t i = 0; i < sizeof(need_vm) / sizeof(need_vm[0]); i++) {
		char p[64];
		snprintf(p, sizeof(p), "/api/v1/%s", need_vm[i]);
		CHECK_EQ(call("PUT", p, NULL, NULL), 404);
	}
	CHECK_EQ(call("GET", "/api/v1/vm.info", NULL, NULL), 404);
	CHECK_EQ(call("GET", "/api/v1/vm.counters", NULL, NULL), 404);
	CHECK_EQ(fake_calls, 0);
	CHECK_EQ(call("PUT", "/api/v1/vm.create", "{\"payload\":{}}", &body), 400);
	CHECK(strstr(body, "payload.kernel"));
	free(body);
	snprintf(json, sizeof(json), "{\"payload\":{\"kernel\":\"%s\"}}", kernel);
	CHECK_EQ(call("PUT", "/api/v1/vm.create", json, NULL), 204);
	CHECK_EQ(call("PUT", "/api/v1/vm.create", json, NULL), 405);
	CHECK_EQ(call("GET", "/api/v1/vm.info", NULL, &body), 200);
	CHECK(strstr(body, "\"state\":\"Created\""));
	free(body);
	/* Created: pause/resume/shutdown are in the wrong state. */
	CHECK_EQ(call("PUT", "/api/v1/vm.pause", NULL, NULL), 405);
	CHECK_EQ(call("PUT", "/api/v1/vm.resume", NULL, NULL), 405);
	CHECK_EQ(call("PUT", "/api/v1/vm.shutdown", NULL, NULL), 405);
	CHECK_EQ(call("GET", "/api/v1/vm.counters", NULL, NULL), 405);
	CHECK_EQ(call("PUT", "/api/v1/vm.boot", NULL, NULL), 204);
	CHECK_EQ(call("PUT", "/api/v1/vm.boot", NULL, NULL), 405);
	CHECK_EQ(call("PUT", "/api/v1/vm.resume", NULL, NULL), 405);
	CHECK_EQ(call("PUT", "/api/v1/vm.power-button", NULL, &body), 409);
	CHECK(strstr(body, "no power button"));
	free(body);
	CHECK_EQ(call("PUT", "/api/v1/vm.pause", NULL, NULL), 204);
	CHECK_EQ(call("PUT", "/api/v1/vm.pause", NULL, NULL), 405);
	CHECK_EQ(call("GET", "/api/v1/vm.counters", NULL, NULL), 200);
	CHECK_EQ(call("GET", "/api/v1/vm.info", "{}", NULL), 400); /* a body where none belongs */
	config_free(&fake_cfg);
	free(fake_json);
	fake_json = NULL;
	routes_cache_free(&cache);
}

/* vmm.ping's body is built once and then copied; vm.info without a printed config is a
 * 500 with a JSON error, not a body built some other way. */
static void test_routes_ping_cache_and_info_without_json(void)
{
	struct routes_cache rc = { 0 };
	struct api_response r;
	routes_handle(&rc, &fake, "GET", "/api/v1/vmm.ping", NULL, 0, &r);
	CHECK_EQ(r.status, 200);
	CHECK(rc.ping && r.body && r.body != rc.ping && !strcmp(r.body, rc.ping));
	const char *first = rc.ping;
	free(r.body);
	routes_handle(&rc, &fake, "GET", "/api/v1/vmm.ping", NULL, 0, &r);
	CHECK_EQ(r.status, 200);
	CHECK(rc.ping == first && r.body && !strcmp(r.body, first));
	free(r.body);
	routes_cache_free(&rc);
	CHECK(!rc.ping);

	struct api_backend nojson = fake;
	nojson.config_json = NULL;
	fake_state = API_VM_CREATED;
	routes_handle(&rc, &nojson, "GET", "/api/v1/vm.info", NULL, 0, &r);
	CHECK_EQ(r.status, 500);
	CHECK(r.body && strstr(r.body, "\"error\""));
	free(r.body);
	fake_state = API_VM_NONE;
}

int main(void)
{
	int fd = mkstemp(kernel), fd2 = mkstemp(disk);
	if (fd < 0 || fd2 < 0)
		return 1;
	close(fd);
	close(fd2);
	RUN(test_config_ch_shaped);
	RUN(test_config_defaults);
	RUN(test_config_numa);
	RUN(test_config_errors);
	RUN(test_config_transport);
	RUN(test_routes_states);
	RUN(test_routes_ping_cache_and_info_without_json);
	unlink(kernel);
	unlink(disk);
	CHECK_EXIT();
}
