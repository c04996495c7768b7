/* SPDX-License-Identifier: Apache-2.0 */
/*
 * router.h - Firecracker's API endpoints: route one request by method and
 * path, validate its body, apply it to the vmm and fill in the response.
 * Runs on the vmm thread (called from the vmm's API event source).
 */
#ifndef EMBER_ROUTER_H
#define EMBER_ROUTER_H

#include <stdint.h>

#include "api.h"

struct vmm;

/* Counters for the metrics line, indexed by route. */
enum api_route_id {
	ROUTE_ROOT, ROUTE_VERSION, ROUTE_ACTIONS, ROUTE_BOOT_SOURCE, ROUTE_MACHINE_CONFIG,
	ROUTE_DRIVES, ROUTE_NETWORK, ROUTE_VSOCK, ROUTE_LOGGER, ROUTE_METRICS, ROUTE_VM,
	ROUTE_VM_CONFIG, ROUTE_UNKNOWN, ROUTE_COUNT,
};

struct api_stats {
	uint64_t requests[ROUTE_COUNT];
	uint64_t errors[ROUTE_COUNT];
};

extern const char *const api_route_names[ROUTE_COUNT];

/* Answer `req` (status and resp_body) and count it in `stats`. */
void api_route(struct vmm *vmm, struct api_request *req);

#endif
