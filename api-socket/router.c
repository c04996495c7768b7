// SPDX-License-Identifier: Apache-2.0
/*
 * router.c - see router.h.  Status codes and bodies follow Firecracker's
 * swagger: 204 on success (200 with a body for GETs), 400 with
 * {"fault_message": ...} for every refused request.  A refused request
 * leaves the configuration and the VM as they were.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "router.h"
#include "vmm/config/config.h"
#include "vmm/core/log.h"
#include "vmm/core/sandbox.h"
#include "vmm/vmm.h"

#ifndef EMBER_VERSION
#define EMBER_VERSION "0.1.0"
#endif

#define ERR_LEN 320

const char *const api_route_names[ROUTE_COUNT] = {
	[ROUTE_ROOT] = "instance_info", [ROUTE_VERSION] = "version",
	[ROUTE_ACTIONS] = "actions", [ROUTE_BOOT_SOURCE] = "boot_source",
	[ROUTE_MACHINE_CONFIG] = "machine_config", [ROUTE_DRIVES] = "drives",
	[ROUTE_NETWORK] = "network_interfaces", [ROUTE_VSOCK] = "vsock",
	[ROUTE_LOGGER] = "logger", [ROUTE_METRICS] = "metrics", [ROUTE_VM] = "vm",
	[ROUTE_VM_CONFIG] = "vm_config", [ROUTE_CPU_CONFIG] = "cpu_config",
	[ROUTE_UNKNOWN] = "unknown",
};

/* What a handler sees; it returns the HTTP status and may set `out`. */
struct call {
	struct vmm *vmm;
	enum api_method method;
	const char *id;       /* the {id} path parameter, or NULL */
	json_t *body;         /* parsed body (PUT/PATCH), or NULL */
	json_t *out;          /* response body for 200 */
	char err[ERR_LEN];
};

typedef int (*handler_fn)(struct call *c);

static int refuse(struct call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int refuse(struct call *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return 400;
}

/* The configuration may change only before InstanceStart. */
static int pre_boot(struct call *c, const char *what)
{
	if (c->vmm->state == VMM_NOT_STARTED)
		return 0;
	return refuse(c, "%s: the operation is not allowed after the microVM has started", what);
}

static int post_boot(struct call *c, const char *what)
{
	if (c->vmm->state != VMM_NOT_STARTED)
		return 0;
	return refuse(c, "%s: the operation is not allowed before the microVM has started", what);
}

/* 204, or 400 with the parser's message already in c->err. */
static int result(int ret)
{
	return ret ? 400 : 204;
}

static int h_root(struct call *c)
{
	const char *id = c->vmm->cfg->id ? c->vmm->cfg->id : "anonymous-instance";

	c->out = json_pack("{ss ss ss ss}", "id", id, "state", vmm_state_name(c->vmm->state),
			   "vmm_version", EMBER_VERSION, "app_name", "ember");
	return 200;
}

static int h_version(struct call *c)
{
	c->out = json_pack("{ss}", "firecracker_version", EMBER_VERSION);
	return 200;
}

static int h_vm_config(struct call *c)
{
	c->out = config_to_json(c->vmm->cfg);
	return 200;
}

static int h_machine_config(struct call *c)
{
	if (c->method == API_GET) {
		c->out = config_machine_to_json(c->vmm->cfg);
		return 200;
	}
	if (pre_boot(c, "machine-config"))
		return 400;
	return result(config_put_machine(c->vmm->cfg, c->body, c->method == API_PATCH,
					    c->err, sizeof(c->err)));
}

static int h_cpu_config(struct call *c)
{
	if (pre_boot(c, "cpu-config"))
		return 400;
	return result(config_put_cpu_config(c->vmm->cfg, c->body, c->err, sizeof(c->err)));
}

static int h_boot_source(struct call *c)
{
	if (pre_boot(c, "boot-source"))
		return 400;
	return result(config_put_boot_source(c->vmm->cfg, c->body, c->err, sizeof(c->err)));
}

static int h_drives(struct call *c)
{
	bool patch = c->method == API_PATCH;

	if (patch ? post_boot(c, "drives") : pre_boot(c, "drives"))
		return 400;
	if (patch)
		return result(vmm_patch_device(c->vmm, "drives", c->id, c->body, c->err,
					       sizeof(c->err)));
	return result(config_put_drive(c->vmm->cfg, c->id, c->body, patch, c->err,
					  sizeof(c->err)));
}

static int h_network(struct call *c)
{
	bool patch = c->method == API_PATCH;

	if (patch ? post_boot(c, "network-interfaces") : pre_boot(c, "network-interfaces"))
		return 400;
	if (patch)
		return result(vmm_patch_device(c->vmm, "network-interfaces", c->id, c->body, c->err,
					       sizeof(c->err)));
	return result(config_put_net(c->vmm->cfg, c->id, c->body, false, c->err,
					sizeof(c->err)));
}

static int h_vsock(struct call *c)
{
	if (pre_boot(c, "vsock"))
		return 400;
	return result(config_put_vsock(c->vmm->cfg, c->body, c->err, sizeof(c->err)));
}

static int h_logger(struct call *c)
{
	if (pre_boot(c, "logger"))
		return 400;
	if (config_put_logger(c->vmm->cfg, c->body, c->err, sizeof(c->err)))
		return 400;
	return result(log_configure(c->vmm->cfg->logger.path, c->vmm->cfg->log_level,
				       c->vmm->cfg->logger.show_level,
				       c->vmm->cfg->logger.show_origin, c->err, sizeof(c->err)));
}

static int h_metrics(struct call *c)
{
	if (pre_boot(c, "metrics"))
		return 400;
	if (metrics_is_open(&c->vmm->metrics))
		return refuse(c, "metrics: the metrics system is already initialised");
	if (config_put_metrics(c->vmm->cfg, c->body, c->err, sizeof(c->err)))
		return 400;
	return result(vmm_open_metrics(c->vmm, c->vmm->cfg->metrics_path, c->err,
				       sizeof(c->err)));
}

static int h_vm(struct call *c)
{
	const char *state;

	if (!json_is_object(c->body) || json_object_size(c->body) != 1 ||
	    !json_is_string(json_object_get(c->body, "state")))
		return refuse(c, "vm: the body must be {\"state\": \"Paused\" | \"Resumed\"}");
	state = json_string_value(json_object_get(c->body, "state"));
	if (!strcmp(state, "Paused"))
		return result(vmm_pause(c->vmm, c->err, sizeof(c->err)));
	if (!strcmp(state, "Resumed"))
		return result(vmm_resume(c->vmm, c->err, sizeof(c->err)));
	return refuse(c, "vm: 'state' must be \"Paused\" or \"Resumed\", not \"%s\"", state);
}

static int h_actions(struct call *c)
{
	const char *action;

	if (!json_is_object(c->body) || json_object_size(c->body) != 1 ||
	    !json_is_string(json_object_get(c->body, "action_type")))
		return refuse(c, "actions: the body must be {\"action_type\": ...}");
	action = json_string_value(json_object_get(c->body, "action_type"));
	if (!strcmp(action, "InstanceStart"))
		return result(vmm_start(c->vmm, c->err, sizeof(c->err)));
	if (!strcmp(action, "FlushMetrics")) {
		if (!metrics_is_open(&c->vmm->metrics))
			return refuse(c, "actions: FlushMetrics needs PUT /metrics first");
		return result(metrics_flush(&c->vmm->metrics, c->err, sizeof(c->err)));
	}
	if (!strcmp(action, "SendCtrlAltDel")) {
		if (post_boot(c, "SendCtrlAltDel"))
			return 400;
		return result(vmm_send_ctrl_alt_del(c->vmm, c->err, sizeof(c->err)));
	}
	return refuse(c, "actions: unknown action_type \"%s\" (InstanceStart, SendCtrlAltDel, FlushMetrics)",
		      action);
}

struct route {
	const char *path;
	bool takes_id;          /* path is a prefix followed by /{id} */
	enum api_route_id id;
	handler_fn get, put, patch;
};

static const struct route routes[] = {
	{ "/", false, ROUTE_ROOT, h_root, NULL, NULL },
	{ "/version", false, ROUTE_VERSION, h_version, NULL, NULL },
	{ "/actions", false, ROUTE_ACTIONS, NULL, h_actions, NULL },
	{ "/boot-source", false, ROUTE_BOOT_SOURCE, NULL, h_boot_source, NULL },
	{ "/machine-config", false, ROUTE_MACHINE_CONFIG, h_machine_config, h_machine_config,
	  h_machine_config },
	{ "/drives", true, ROUTE_DRIVES, NULL, h_drives, h_drives },
	{ "/network-interfaces", true, ROUTE_NETWORK, NULL, h_network, h_network },
	{ "/vsock", false, ROUTE_VSOCK, NULL, h_vsock, NULL },
	{ "/logger", false, ROUTE_LOGGER, NULL, h_logger, NULL },
	{ "/metrics", false, ROUTE_METRICS, NULL, h_metrics, NULL },
	{ "/vm", false, ROUTE_VM, NULL, NULL, h_vm },
	{ "/vm/config", false, ROUTE_VM_CONFIG, h_vm_config, NULL, NULL },
	{ "/cpu-config", false, ROUTE_CPU_CONFIG, NULL, h_cpu_config, NULL },
};

/*
 * Firecracker endpoints outside ember's scope: whatever the method, they
 * answer 400 saying so, never the "invalid path" of a typo.
 */
static const struct {
	const char *prefix;   /* the path, or a parent of its sub-paths */
	const char *what;
} out_of_scope[] = {
	{ "/balloon", "the balloon device" },
	{ "/entropy", "the entropy device" },
	{ "/pmem", "virtio-pmem devices" },
	{ "/hotplug/memory", "memory hot-plug (virtio-mem)" },
	{ "/mmds", "the microVM metadata service (MMDS)" },
};

static const char *out_of_scope_find(const char *path)
{
	for (size_t i = 0; i < sizeof(out_of_scope) / sizeof(out_of_scope[0]); i++) {
		size_t n = strlen(out_of_scope[i].prefix);

		if (!strncmp(path, out_of_scope[i].prefix, n) && (!path[n] || path[n] == '/'))
			return out_of_scope[i].what;
	}
	return NULL;
}

/* Match `path` against the table; *id points into path for /{id} routes. */
static const struct route *route_find(const char *path, const char **id)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route *r = &routes[i];
		size_t n = strlen(r->path);

		*id = NULL;
		if (!r->takes_id && !strcmp(path, r->path))
			return r;
		if (r->takes_id && !strncmp(path, r->path, n) && path[n] == '/' &&
		    path[n + 1] && !strchr(path + n + 1, '/')) {
			*id = path + n + 1;
			return r;
		}
	}
	return NULL;
}

static handler_fn route_handler(const struct route *r, enum api_method m)
{
	switch (m) {
	case API_GET: return r->get;
	case API_PUT: return r->put;
	case API_PATCH: return r->patch;
	default: return NULL;
	}
}

/* Parse the body of PUT/PATCH; 0 or a 400 with the reason in c->err. */
static int parse_body(struct call *c, const struct api_request *req)
{
	json_error_t jerr;

	if (c->method == API_GET)
		return 0;
	if (!req->body || !req->body_len)
		return refuse(c, "%s %s: the request needs a JSON body", req->method_name, req->path);
	c->body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!c->body)
		return refuse(c, "invalid JSON body at line %d, column %d: %s", jerr.line,
			      jerr.column, jerr.text);
	if (!json_is_object(c->body))
		return refuse(c, "the JSON body must be an object");
	return 0;
}

static void route_answer(struct call *c, struct api_request *req, int status)
{
	req->status = status;
	req->resp_body = NULL;
	if (status >= 400)
		req->resp_body = api_fault_body("%s", c->err);
	else if (status == 200 && c->out)
		req->resp_body = json_dumps(c->out, JSON_COMPACT);
	json_decref(c->out);
	json_decref(c->body);
}

void api_route(struct api_router *rt, struct api_request *req)
{
	struct call c = { .vmm = rt->vmm, .method = req->method };
	const struct route *r = route_find(req->path, &c.id);
	enum api_route_id rid = r ? r->id : ROUTE_UNKNOWN;
	handler_fn h = r ? route_handler(r, req->method) : NULL;
	int status;

	const char *unoffered = r ? NULL : out_of_scope_find(req->path);

	rt->stats.requests[rid]++;
	if (unoffered)
		status = refuse(&c, "%s %s: ember does not offer this Firecracker endpoint (%s is "
				"outside its scope)", req->method_name, req->path, unoffered);
	else if (!h)
		status = refuse(&c, "invalid request method and/or path: %s %s",
				req->method_name, req->path);
	else
		status = parse_body(&c, req);
	if (h && !status)
		status = h(&c);
	if (status >= 400) {
		rt->stats.errors[rid]++;
		log_ratelimited(LOG_WARN, "API %s %s refused: %s", req->method_name, req->path, c.err);
	}
	route_answer(&c, req, status);
}

/* ---- the api thread's hand-off, served on the vmm thread ---------------- */

static void api_metrics(void *opaque, json_t *root)
{
	const struct api_stats *s = &((struct api_router *)opaque)->stats;
	json_t *req = json_object(), *errs = json_object();

	for (int i = 0; i < ROUTE_COUNT; i++) {
		json_object_set_new(req, api_route_names[i], json_integer((json_int_t)s->requests[i]));
		json_object_set_new(errs, api_route_names[i], json_integer((json_int_t)s->errors[i]));
	}
	json_object_set_new(root, "api_server", json_pack("{so so}", "requests", req, "errors", errs));
}

int api_router_init(struct api_router *r, struct vmm *vmm)
{
	memset(r, 0, sizeof(*r));
	r->vmm = vmm;
	r->src.fd = -1;
	return metrics_add_source(&vmm->metrics, api_metrics, r);
}

static void on_api_request(struct ev_source *src, uint32_t events)
{
	struct api_router *r = src->opaque;
	struct api_request *req;

	(void)events;
	while ((req = api_server_take(r->srv))) {
		api_route(r, req);
		api_server_reply(r->srv, req);
	}
}

/* The api thread's seccomp filter (see vmm/core/sandbox.h). */
static int confine_api_thread(void)
{
	return sandbox_enter(SANDBOX_API);
}

int api_open(struct api_router *r, const struct vm_config *cfg)
{
	struct api_server_opts opts = {
		.sock_path = cfg->api_sock,
		.max_payload = cfg->api_max_payload,
		.max_conns = API_DEFAULT_MAX_CONNS,
		.timeout_ms = API_DEFAULT_TIMEOUT_MS,
		.confine = confine_api_thread,
	};
	int ret;

	if (!cfg->api_sock)
		return 0;
	ret = api_server_start(&r->srv, &opts);
	if (ret) {
		log_error("API socket %s: %s", cfg->api_sock, strerror(-ret));
		return ret;
	}
	/* read by the start-up benchmark */
	log_debug("API socket ready at monotonic %llu us, process CPU %llu us",
		  (unsigned long long)time_mono_us(), (unsigned long long)time_cpu_us());
	r->src = (struct ev_source){ .fd = api_server_request_fd(r->srv), .cb = on_api_request,
				     .opaque = r };
	ret = ev_add(&r->vmm->loop, &r->src, EPOLLIN);
	if (ret) {
		log_error("API socket %s: cannot watch its requests: %s", cfg->api_sock,
			  strerror(-ret));
		api_close(r);
	}
	return ret;
}

void api_close(struct api_router *r)
{
	if (!r->srv)
		return;
	if (r->src.fd >= 0)
		ev_del(&r->vmm->loop, &r->src);
	r->src.fd = -1;
	api_server_stop(r->srv);
	r->srv = NULL;
}
