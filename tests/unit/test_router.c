// SPDX-License-Identifier: Apache-2.0
/*
 * test_router.c - the API routes and handlers on the vmm thread, without a
 * socket and without KVM: each request goes through api_route against a
 * vmm that has not started (or is marked running), and the status, the
 * fault_message and the configuration afterwards are checked.
 */
#include "unit.h"

#include <jansson.h>
#include <unistd.h>

#include "api-socket/api.h"
#include "api-socket/router.h"
#include "vmm/vmm.h"

struct fixture {
	struct vm_config cfg;
	struct vmm vmm;
	struct api_router api;
	char dir[64];
	char disk[96];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	FILE *fp;

	config_init(&f->cfg);
	assert_int_equal(vmm_init(&f->vmm, &f->cfg), 0);
	assert_int_equal(api_router_init(&f->api, &f->vmm), 0);
	strcpy(f->dir, "/tmp/ember-router-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->disk, sizeof(f->disk), "%s/disk.img", f->dir);
	fp = fopen(f->disk, "w");
	assert_non_null(fp);
	fputs("disk", fp);
	fclose(fp);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char path[128];

	vmm_destroy(&f->vmm);
	config_free(&f->cfg);
	unlink(f->disk);
	snprintf(path, sizeof(path), "%s/metrics.json", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Send one request; returns the status, copies the body into `out`. */
static int call(struct fixture *f, enum api_method m, const char *mname, const char *path,
		const char *body, char *out, size_t outlen)
{
	struct api_request req = { .method = m };
	int status;

	snprintf(req.method_name, sizeof(req.method_name), "%s", mname);
	snprintf(req.path, sizeof(req.path), "%s", path);
	if (body) {
		req.body = strdup(body);
		req.body_len = strlen(body);
	}
	api_route(&f->api, &req);
	status = req.status;
	if (out)
		snprintf(out, outlen, "%s", req.resp_body ? req.resp_body : "");
	free(req.body);
	free(req.resp_body);
	return status;
}

#define PUT(f, p, b, o)   call(f, API_PUT, "PUT", p, b, o, sizeof(o))
#define PATCH(f, p, b, o) call(f, API_PATCH, "PATCH", p, b, o, sizeof(o))
#define GET(f, p, o)      call(f, API_GET, "GET", p, NULL, o, sizeof(o))

static void assert_fault(const char *body, const char *want)
{
	json_error_t e;
	json_t *j = json_loads(body, 0, &e);
	const char *msg;

	assert_non_null(j);
	msg = json_string_value(json_object_get(j, "fault_message"));
	assert_non_null(msg);
	if (!strstr(msg, want))
		fail_msg("fault_message '%s' lacks '%s'", msg, want);
	json_decref(j);
}

static void test_get_root_and_version(void **state)
{
	struct fixture *f = *state;
	char out[512];

	assert_int_equal(GET(f, "/", out), 200);
	assert_non_null(strstr(out, "\"state\":\"Not started\""));
	assert_int_equal(GET(f, "/version", out), 200);
	assert_non_null(strstr(out, "firecracker_version"));
}

static void test_machine_config_put_get_patch(void **state)
{
	struct fixture *f = *state;
	char out[512];

	assert_int_equal(PUT(f, "/machine-config", "{\"vcpu_count\": 4, \"mem_size_mib\": 256}", out), 204);
	assert_int_equal(f->cfg.vcpus, 4);
	assert_int_equal(PATCH(f, "/machine-config", "{\"mem_size_mib\": 512}", out), 204);
	assert_int_equal(f->cfg.vcpus, 4);
	assert_int_equal(f->cfg.mem_mib, 512);
	assert_int_equal(GET(f, "/machine-config", out), 200);
	assert_non_null(strstr(out, "\"mem_size_mib\":512"));
	assert_int_equal(PATCH(f, "/machine-config", "{\"vcpu_count\": 40}", out), 400);
	assert_fault(out, "vcpu_count");
	assert_int_equal(f->cfg.vcpus, 4);
}

/* huge_pages "Transparent" (Firecracker's THP option): accepted with any
 * memory size, read back, changed by PATCH; the names are case-sensitive;
 * "None" said is not ember's default. */
static void test_machine_config_huge_pages_transparent(void **state)
{
	struct fixture *f = *state;
	char out[512];

	/* Nothing asked: Firecracker's "None" reads back, ember's own default
	 * (transparent huge pages asked for) stays distinct from an explicit "None". */
	assert_int_equal(f->cfg.hugepages, GM_PAGES_DEFAULT);
	assert_int_equal(GET(f, "/machine-config", out), 200);
	assert_non_null(strstr(out, "\"huge_pages\":\"None\""));
	assert_int_equal(PUT(f, "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 129,"
			     " \"huge_pages\": \"Transparent\"}", out), 204);
	assert_int_equal(f->cfg.hugepages, GM_PAGES_THP);
	assert_int_equal(GET(f, "/machine-config", out), 200);
	assert_non_null(strstr(out, "\"huge_pages\":\"Transparent\""));
	/* 2M needs an even size; a refused PATCH changes nothing. */
	assert_int_equal(PATCH(f, "/machine-config", "{\"huge_pages\": \"2M\"}", out), 400);
	assert_fault(out, "mem_size_mib");
	assert_int_equal(f->cfg.hugepages, GM_PAGES_THP);
	assert_int_equal(PATCH(f, "/machine-config", "{\"huge_pages\": \"None\"}", out), 204);
	assert_int_equal(f->cfg.hugepages, GM_PAGES_NORMAL);
	assert_int_equal(GET(f, "/machine-config", out), 200);
	assert_non_null(strstr(out, "\"huge_pages\":\"None\""));
	assert_int_equal(PATCH(f, "/machine-config", "{\"huge_pages\": \"transparent\"}", out), 400);
	assert_fault(out, "huge_pages");
	assert_int_equal(PATCH(f, "/machine-config", "{\"huge_pages\": \"Transparent\"}", out), 204);
	assert_int_equal(GET(f, "/machine-config", out), 200);
	assert_non_null(strstr(out, "\"huge_pages\":\"Transparent\""));
}

static void test_boot_source(void **state)
{
	struct fixture *f = *state;
	char out[512];

	assert_int_equal(PUT(f, "/boot-source", "{\"kernel_image_path\": \"k\", \"initrd_path\": null}", out), 204);
	assert_string_equal(f->cfg.kernel_path, "k");
	assert_null(f->cfg.initrd_path);
	assert_int_equal(PUT(f, "/boot-source", "{\"kernel_image_path\": null}", out), 400);
	assert_fault(out, "must not be null");
	assert_string_equal(f->cfg.kernel_path, "k");
}

static void test_drives(void **state)
{
	struct fixture *f = *state;
	char body[512], out[512];

	snprintf(body, sizeof(body), "{\"drive_id\": \"rootfs\", \"path_on_host\": \"%s\","
		 " \"is_root_device\": true, \"is_read_only\": true, \"cache_type\": \"Writeback\"}", f->disk);
	assert_int_equal(PUT(f, "/drives/rootfs", body, out), 204);
	assert_int_equal(f->cfg.devs.nr_drives, 1);
	assert_int_equal(f->cfg.devs.drives[0].cache, DRIVE_CACHE_WRITEBACK);
	/* PUT again replaces, it does not add. */
	assert_int_equal(PUT(f, "/drives/rootfs", body, out), 204);
	assert_int_equal(f->cfg.devs.nr_drives, 1);
	snprintf(body, sizeof(body), "{\"drive_id\": \"data\", \"path_on_host\": \"%s\","
		 " \"is_root_device\": true}", f->disk);
	assert_int_equal(PUT(f, "/drives/data", body, out), 400);
	assert_fault(out, "root block device already exists");
	assert_int_equal(f->cfg.devs.nr_drives, 1);
	assert_int_equal(PATCH(f, "/drives/rootfs", "{\"drive_id\": \"rootfs\"}", out), 400);
	assert_fault(out, "before the microVM has started");
	f->vmm.state = VMM_RUNNING;
	assert_int_equal(PATCH(f, "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"is_read_only\": false}", out), 400);
	assert_fault(out, "PATCH may change only");
	assert_int_equal(PATCH(f, "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"rate_limiter\":"
			       " {\"ops\": {\"size\": 100, \"refill_time\": 1000}}}", out), 204);
	assert_int_equal(f->cfg.devs.drives[0].rate_limiter.ops.size, 100);
	assert_true(f->cfg.devs.drives[0].read_only);
	f->vmm.state = VMM_NOT_STARTED;
}

static void test_network_and_vsock(void **state)
{
	struct fixture *f = *state;
	char out[512];

	assert_int_equal(PUT(f, "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\","
			     " \"guest_mac\": \"06:00:AC:10:00:02\"}", out), 204);
	assert_int_equal(f->cfg.devs.nets[0].mac[2], 0xac);
	assert_int_equal(PUT(f, "/network-interfaces/eth1", "{\"iface_id\": \"eth1\", \"host_dev_name\": \"tap0\"}", out), 400);
	assert_fault(out, "already used");
	assert_int_equal(PUT(f, "/network-interfaces/eth1", "{\"iface_id\": \"eth1\", \"host_dev_name\": \"tap1\","
			     " \"guest_mac\": \"06:00:ac:10:00\"}", out), 400);
	assert_fault(out, "guest_mac");
	assert_int_equal(f->cfg.devs.nr_nets, 1);
	assert_int_equal(PUT(f, "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/tmp/v.sock\"}", out), 204);
	assert_true(f->cfg.devs.vsock.set);
	assert_int_equal(PUT(f, "/vsock", "{\"guest_cid\": 4294967296, \"uds_path\": \"/tmp/v.sock\"}", out), 400);
	assert_int_equal(f->cfg.devs.vsock.guest_cid, 3);
}

static void test_vm_config(void **state)
{
	struct fixture *f = *state;
	char out[2048];

	assert_int_equal(PUT(f, "/boot-source", "{\"kernel_image_path\": \"k\", \"boot_args\": \"a=b\"}", out), 204);
	assert_int_equal(GET(f, "/vm/config", out), 200);
	assert_non_null(strstr(out, "\"boot_args\":\"a=b\""));
	assert_non_null(strstr(out, "\"drives\":[]"));
}

static void test_actions_and_state_rules(void **state)
{
	struct fixture *f = *state;
	char out[512];

	assert_int_equal(PUT(f, "/actions", "{\"action_type\": \"InstanceStart\"}", out), 400);
	assert_fault(out, "no kernel");
	assert_int_equal(f->vmm.state, VMM_NOT_STARTED);
	assert_int_equal(PUT(f, "/actions", "{\"action_type\": \"FlushMetrics\"}", out), 400);
	assert_fault(out, "PUT /metrics first");
	assert_int_equal(PUT(f, "/actions", "{\"action_type\": \"Reboot\"}", out), 400);
	assert_fault(out, "unknown action_type");
	assert_int_equal(PATCH(f, "/vm", "{\"state\": \"Paused\"}", out), 400);
	assert_fault(out, "not running");
	f->vmm.state = VMM_RUNNING;
	assert_int_equal(PUT(f, "/boot-source", "{\"kernel_image_path\": \"k\"}", out), 400);
	assert_fault(out, "after the microVM has started");
	assert_int_equal(PUT(f, "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 64}", out), 400);
	assert_int_equal(PUT(f, "/actions", "{\"action_type\": \"InstanceStart\"}", out), 400);
	assert_fault(out, "already running");
	f->vmm.state = VMM_NOT_STARTED;
}

static void test_metrics_flush(void **state)
{
	struct fixture *f = *state;
	char body[256], out[512], line[4096], path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/metrics.json", f->dir);
	snprintf(body, sizeof(body), "{\"metrics_path\": \"%s\"}", path);
	assert_int_equal(GET(f, "/nowhere", out), 400);
	assert_int_equal(PUT(f, "/metrics", body, out), 204);
	assert_int_equal(PUT(f, "/metrics", body, out), 400);
	assert_int_equal(PUT(f, "/actions", "{\"action_type\": \"FlushMetrics\"}", out), 204);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_non_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	/* Counted before the flush: GET /nowhere (error), 2x PUT /metrics, the flush itself. */
	assert_non_null(strstr(line, "\"unknown\":1"));
	assert_non_null(strstr(line, "\"metrics\":2"));
	assert_non_null(strstr(line, "\"state\":\"Not started\""));
}

static void test_bad_requests(void **state)
{
	static const struct {
		enum api_method m;
		const char *mname, *path, *body, *fault;
	} cases[] = {
		{ API_PUT, "PUT", "/machine-config", NULL, "needs a JSON body" },
		{ API_PUT, "PUT", "/machine-config", "", "needs a JSON body" },
		{ API_PUT, "PUT", "/machine-config", "{", "invalid JSON" },
		{ API_PUT, "PUT", "/machine-config", "[]", "must be an object" },
		{ API_PUT, "PUT", "/machine-config", "{\"a\": 1, \"a\": 2}", "duplicate" },
		{ API_OTHER, "DELETE", "/machine-config", NULL, "DELETE /machine-config" },
		{ API_GET, "GET", "/actions", NULL, "GET /actions" },
		{ API_PUT, "PUT", "/drives", "{}", "invalid request method and/or path" },
		{ API_PUT, "PUT", "/drives/a/b", "{}", "invalid request method and/or path" },
		{ API_PUT, "PUT", "/vm", "{\"state\": \"Paused\"}", "PUT /vm" },
		{ API_PATCH, "PATCH", "/vm", "{\"state\": 1}", "Paused" },
		{ API_PUT, "PUT", "/actions", "{\"action_type\": \"InstanceStart\", \"x\": 1}", "action_type" },
		{ API_PUT, "PUT", "/logger", "{\"level\": \"Chatty\"}", "level" },
		{ API_PUT, "PUT", "/metrics", "{}", "metrics_path" },
		{ API_PUT, "PUT", "/vsock", "{\"guest_cid\": \"3\", \"uds_path\": \"x\"}", "guest_cid" },
	};
	struct fixture *f = *state;
	char out[512];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int st = call(f, cases[i].m, cases[i].mname, cases[i].path, cases[i].body, out,
			      sizeof(out));

		if (st != 400)
			fail_msg("case %zu (%s %s): status %d", i, cases[i].mname, cases[i].path, st);
		assert_fault(out, cases[i].fault);
	}
}

/* refill_time = 2^58 ms wrapped to a 0 ns period in the limiter (SIGFPE on
 * the guest's first request): refused with the field named, for drives and
 * network interfaces, on PUT and PATCH, and the configuration is unchanged. */
static void test_rate_limiter_out_of_range_refused(void **state)
{
	struct fixture *f = *state;
	char body[512], out[512];

	snprintf(body, sizeof(body), "{\"drive_id\": \"d0\", \"path_on_host\": \"%s\","
		 " \"is_root_device\": false, \"rate_limiter\": {\"bandwidth\":"
		 " {\"size\": 1048576, \"refill_time\": 288230376151711744}}}", f->disk);
	assert_int_equal(PUT(f, "/drives/d0", body, out), 400);
	assert_fault(out, "refill_time");
	assert_int_equal(f->cfg.devs.nr_drives, 0);
	snprintf(body, sizeof(body), "{\"drive_id\": \"d0\", \"path_on_host\": \"%s\","
		 " \"is_root_device\": false, \"rate_limiter\": {\"ops\":"
		 " {\"size\": 10, \"refill_time\": 18446744073710}}}", f->disk);
	assert_int_equal(PUT(f, "/drives/d0", body, out), 400);
	assert_fault(out, "refill_time");
	assert_int_equal(f->cfg.devs.nr_drives, 0);
	/* The largest accepted value still is. */
	snprintf(body, sizeof(body), "{\"drive_id\": \"d0\", \"path_on_host\": \"%s\","
		 " \"is_root_device\": false, \"rate_limiter\": {\"ops\":"
		 " {\"size\": 10, \"refill_time\": 18446744073709}}}", f->disk);
	assert_int_equal(PUT(f, "/drives/d0", body, out), 204);
	assert_int_equal(f->cfg.devs.nr_drives, 1);
	f->vmm.state = VMM_RUNNING;
	assert_int_equal(PATCH(f, "/drives/d0", "{\"drive_id\": \"d0\", \"rate_limiter\":"
			       " {\"bandwidth\": {\"size\": 1, \"refill_time\": 288230376151711744}}}",
			       out), 400);
	assert_fault(out, "refill_time");
	assert_false(f->cfg.devs.drives[0].rate_limiter.bandwidth.set);
	assert_int_equal(f->cfg.devs.drives[0].rate_limiter.ops.refill_time_ms, 18446744073709ULL);
	f->vmm.state = VMM_NOT_STARTED;
	assert_int_equal(PUT(f, "/network-interfaces/eth0", "{\"iface_id\": \"eth0\","
			     " \"host_dev_name\": \"tap0\", \"tx_rate_limiter\": {\"bandwidth\":"
			     " {\"size\": 1048576, \"refill_time\": 288230376151711744}}}", out), 400);
	assert_fault(out, "refill_time");
	assert_int_equal(f->cfg.devs.nr_nets, 0);
}

/* Firecracker endpoints ember does not offer answer a 400 that names the
 * endpoint and says so, whatever the method; a typo stays an invalid path. */
static void test_out_of_scope_endpoints(void **state)
{
	static const struct {
		enum api_method m;
		const char *mname, *path, *body;
	} cases[] = {
		{ API_GET, "GET", "/balloon", NULL },
		{ API_PUT, "PUT", "/balloon", "{\"amount_mib\": 1, \"deflate_on_oom\": true}" },
		{ API_PATCH, "PATCH", "/balloon", "{\"amount_mib\": 1}" },
		{ API_GET, "GET", "/balloon/statistics", NULL },
		{ API_PATCH, "PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\": 1}" },
		{ API_PATCH, "PATCH", "/balloon/hinting/start", "{}" },
		{ API_GET, "GET", "/balloon/hinting/status", NULL },
		{ API_PATCH, "PATCH", "/balloon/hinting/stop", NULL },
		{ API_PUT, "PUT", "/entropy", "{}" },
		{ API_PUT, "PUT", "/pmem/p0", "{\"id\": \"p0\", \"path_on_host\": \"x\"}" },
		{ API_PATCH, "PATCH", "/pmem/p0", "{\"id\": \"p0\"}" },
		{ API_PUT, "PUT", "/hotplug/memory", "{\"total_size_mib\": 1024}" },
		{ API_PATCH, "PATCH", "/hotplug/memory", "{\"requested_size_mib\": 512}" },
		{ API_GET, "GET", "/hotplug/memory", NULL },
		{ API_PUT, "PUT", "/mmds", "{}" },
		{ API_PATCH, "PATCH", "/mmds", "{}" },
		{ API_GET, "GET", "/mmds", NULL },
		{ API_PUT, "PUT", "/mmds/config", "{\"network_interfaces\": []}" },
	};
	struct fixture *f = *state;
	char out[512], want[64];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int st = call(f, cases[i].m, cases[i].mname, cases[i].path, cases[i].body, out,
			      sizeof(out));

		if (st != 400)
			fail_msg("%s %s: status %d", cases[i].mname, cases[i].path, st);
		snprintf(want, sizeof(want), "%s %s: ember does not offer", cases[i].mname,
			 cases[i].path);
		assert_fault(out, want);
	}
	assert_int_equal(PUT(f, "/baloon", "{}", out), 400);
	assert_fault(out, "invalid request method and/or path: PUT /baloon");
	assert_int_equal(GET(f, "/balloonx", out), 400);
	assert_fault(out, "invalid request method and/or path");
	assert_int_equal(PUT(f, "/entropy2", "{}", out), 400);
	assert_fault(out, "invalid request method and/or path");
}

/* PATCH /drives/{id} and /network-interfaces/{id}: the body must name the
 * id (the swagger requires it) and name the path's. */
static void test_patch_needs_body_id(void **state)
{
	struct fixture *f = *state;
	char body[512], out[512];

	snprintf(body, sizeof(body), "{\"drive_id\": \"d0\", \"path_on_host\": \"%s\","
		 " \"is_root_device\": false}", f->disk);
	assert_int_equal(PUT(f, "/drives/d0", body, out), 204);
	assert_int_equal(PUT(f, "/network-interfaces/eth0", "{\"iface_id\": \"eth0\","
			     " \"host_dev_name\": \"tap0\"}", out), 204);
	f->vmm.state = VMM_RUNNING;
	assert_int_equal(PATCH(f, "/drives/d0", "{\"rate_limiter\": {\"ops\": {\"size\": 5,"
			       " \"refill_time\": 100}}}", out), 400);
	assert_fault(out, "missing required field 'drive_id'");
	assert_int_equal(PATCH(f, "/drives/d0", "{\"drive_id\": \"d1\"}", out), 400);
	assert_fault(out, "differs from the path");
	assert_int_equal(PATCH(f, "/drives/d0", "{\"drive_id\": \"d0\"}", out), 400);
	assert_fault(out, "needs 'path_on_host' or 'rate_limiter'");
	assert_false(f->cfg.devs.drives[0].rate_limiter.ops.set);
	assert_int_equal(PATCH(f, "/network-interfaces/eth0", "{\"rx_rate_limiter\": {\"ops\":"
			       " {\"size\": 5, \"refill_time\": 100}}}", out), 400);
	assert_fault(out, "missing required field 'iface_id'");
	assert_int_equal(PATCH(f, "/network-interfaces/eth0", "{\"iface_id\": \"eth1\"}", out), 400);
	assert_fault(out, "differs from the path");
	assert_false(f->cfg.devs.nets[0].rx.ops.set);
	assert_int_equal(PATCH(f, "/network-interfaces/eth0", "{\"iface_id\": \"eth0\","
			       " \"rx_rate_limiter\": {\"ops\": {\"size\": 5, \"refill_time\": 100}}}",
			       out), 204);
	assert_true(f->cfg.devs.nets[0].rx.ops.set);
	f->vmm.state = VMM_NOT_STARTED;
}

/* PUT /boot-source opens the kernel and initrd, as Firecracker does. */
static void test_boot_source_files_opened(void **state)
{
	struct fixture *f = *state;
	char out[512];

	assert_int_equal(PUT(f, "/boot-source", "{\"kernel_image_path\": \"no-such-kernel\"}", out), 400);
	assert_fault(out, "cannot open 'no-such-kernel'");
	assert_null(f->cfg.kernel_path);
	assert_int_equal(PUT(f, "/boot-source", "{\"kernel_image_path\": \"k\","
			     " \"initrd_path\": \"no-such-initrd\"}", out), 400);
	assert_fault(out, "initrd_path");
	assert_null(f->cfg.kernel_path);
}

/* GET /machine-config and /vm/config read back smt and track_dirty_pages;
 * PUT resets what it leaves out, PATCH changes only what it names; an
 * empty PATCH is a 400.  Before any PUT /boot-source, kernel_image_path is
 * "" (the swagger requires the field). */
static void test_machine_config_read_back(void **state)
{
	struct fixture *f = *state;
	char out[2048];

	assert_int_equal(GET(f, "/vm/config", out), 200);
	assert_non_null(strstr(out, "\"kernel_image_path\":\"\""));
	assert_int_equal(PUT(f, "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 128,"
			     " \"smt\": true, \"track_dirty_pages\": true, \"huge_pages\": \"2M\"}", out), 204);
	assert_int_equal(GET(f, "/machine-config", out), 200);
	assert_non_null(strstr(out, "\"smt\":true"));
	assert_non_null(strstr(out, "\"track_dirty_pages\":true"));
	assert_non_null(strstr(out, "\"huge_pages\":\"2M\""));
	assert_int_equal(GET(f, "/vm/config", out), 200);
	assert_non_null(strstr(out, "\"smt\":true"));
	assert_non_null(strstr(out, "\"track_dirty_pages\":true"));
	assert_int_equal(PUT(f, "/machine-config", "{\"vcpu_count\": 3, \"mem_size_mib\": 128,"
			     " \"smt\": true}", out), 400);
	assert_fault(out, "1 or an even number");
	assert_int_equal(PUT(f, "/machine-config", "{\"vcpu_count\": 3, \"mem_size_mib\": 128}", out), 204);
	assert_int_equal(GET(f, "/machine-config", out), 200);
	assert_non_null(strstr(out, "\"smt\":false"));
	assert_non_null(strstr(out, "\"track_dirty_pages\":false"));
	assert_non_null(strstr(out, "\"huge_pages\":\"None\""));
	assert_int_equal(PATCH(f, "/machine-config", "{\"track_dirty_pages\": true}", out), 204);
	assert_int_equal(GET(f, "/machine-config", out), 200);
	assert_non_null(strstr(out, "\"track_dirty_pages\":true"));
	assert_non_null(strstr(out, "\"vcpu_count\":3"));
	assert_int_equal(PATCH(f, "/machine-config", "{}", out), 400);
	assert_fault(out, "at least one field");
}

/* PUT /metrics with emit_id and properties: every line carries "id" and
 * "properties" at its top level. */
static void test_metrics_id_and_properties(void **state)
{
	struct fixture *f = *state;
	char body[256], out[512], line[8192], path[128];
	json_t *j;
	FILE *fp;

	f->cfg.id = strdup("vm_7");
	snprintf(path, sizeof(path), "%s/metrics.json", f->dir);
	snprintf(body, sizeof(body), "{\"metrics_path\": \"%s\", \"emit_id\": true,"
		 " \"properties\": {\"bundle_id\": \"fn-abc\"}}", path);
	assert_int_equal(PUT(f, "/metrics", body, out), 204);
	assert_int_equal(PUT(f, "/actions", "{\"action_type\": \"FlushMetrics\"}", out), 204);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_non_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	j = json_loads(line, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "vm_7");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "properties"),
							      "bundle_id")), "fn-abc");
	assert_non_null(json_object_get(j, "api_server"));
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_root_and_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_machine_config_huge_pages_transparent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_machine_config_put_get_patch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_boot_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drives, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limiter_out_of_range_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_network_and_vsock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_actions_and_state_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_scope_endpoints, setup, teardown),
		cmocka_unit_test_setup_teardown(test_patch_needs_body_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_boot_source_files_opened, setup, teardown),
		cmocka_unit_test_setup_teardown(test_machine_config_read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_id_and_properties, setup, teardown),
	};
	static const char *const files[] = { "k" };  /* PUT /boot-source opens it */
	int ret;

	unit_init();
	unit_scratch_enter(files, ARRAY_SIZE(files));
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	unit_scratch_leave(files, ARRAY_SIZE(files));
	return ret;
}
