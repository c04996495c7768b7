/* SPDX-License-Identifier: Apache-2.0 */
/*
 * router.h - Firecracker's API endpoints: route one request by method and
 * path, validate its body, apply it through the orchestrator's interface
 * (vmm/vmm.h) and fill in the response.  Also the glue between the api
 * thread and the vmm thread: api_open starts the server and watches its
 * hand-off eventfd in the vmm's event loop.  Everything here runs on the
 * vmm thread.
 */
#ifndef EMBER_ROUTER_H
#define EMBER_ROUTER_H

#include <stdint.h>

#include "api.h"
#include "vmm/core/event.h"

struct vmm;
struct vm_config;

/* Counters for the metrics line, indexed by route. */
enum api_route_id {
	ROUTE_ROOT, ROUTE_VERSION, ROUTE_ACTIONS, ROUTE_BOOT_SOURCE, ROUTE_MACHINE_CONFIG,
	ROUTE_DRIVES, ROUTE_NETWORK, ROUTE_VSOCK, ROUTE_LOGGER, ROUTE_METRICS, ROUTE_VM,
	ROUTE_VM_CONFIG, ROUTE_CPU_CONFIG, ROUTE_UNKNOWN, ROUTE_COUNT,
};

struct api_stats {
	uint64_t requests[ROUTE_COUNT];
	uint64_t errors[ROUTE_COUNT];
};

extern const char *const api_route_names[ROUTE_COUNT];

struct api_router {
	struct vmm *vmm;
	struct api_stats stats;
	struct api_server *srv;       /* NULL without --api-sock */
	struct ev_source src;         /* the server's request eventfd */
};

/* Bind the router to `vmm` and register its counters ("api_server") with
 * the vmm's metrics.  0 or -errno. */
int api_router_init(struct api_router *r, struct vmm *vmm);
/* With cfg->api_sock: start the API server and serve its requests from the
 * vmm's event loop.  0 (also without a socket) or -errno (logged). */
int api_open(struct api_router *r, const struct vm_config *cfg);
/* Stop the server (if any): no request is taken after this. */
void api_close(struct api_router *r);
/* Answer `req` (status and resp_body) and count it. */
void api_route(struct api_router *r, struct api_request *req);

#endif
