// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_api.c - libFuzzer target over the API handlers (api-socket/router.c
 * and the configuration parsers it calls): a sequence of requests, each
 * with a fuzzed method, path and JSON body, applied to one vmm in turn,
 * before or after a (pretend) start.  Every answer must be a known status
 * with a JSON body that parses, and a 4xx must carry a fault_message.
 * After each accepted drive or network-interface request, every rate
 * limiter the configuration holds goes through vmm/core/ratelimit.c with
 * varied sizes and clocks derived from the input (no crash, no UB).
 * The VM itself is stubbed out (vmm_start and friends below), so no KVM is
 * needed and no input can make the fuzzer boot a file it names.
 *
 * Input: records separated by '\n\n': "<m><s> <path>\n<body>", where <m>
 * picks the method (G, P, A for PATCH, else other) and <s> the state
 * (N not started, R running, P paused).
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api-socket/api.h"
#include "api-socket/router.h"
#include "vmm/core/ratelimit.h"
#include "vmm/vmm.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/* ---- stubs for the parts that would touch KVM ------------------------- */

const char *vmm_state_name(enum vmm_state state)
{
	return state == VMM_NOT_STARTED ? "Not started" : state == VMM_RUNNING ? "Running" : "Paused";
}

int vmm_start(struct vmm *vmm, char *err, size_t errlen)
{
	if (vmm->state != VMM_NOT_STARTED) {
		snprintf(err, errlen, "already running");
		return -1;
	}
	if (config_validate(vmm->cfg, err, errlen))
		return -1;
	vmm->state = VMM_RUNNING;
	return 0;
}

int vmm_pause(struct vmm *vmm, char *err, size_t errlen)
{
	if (vmm->state == VMM_NOT_STARTED) {
		snprintf(err, errlen, "not running");
		return -1;
	}
	vmm->state = VMM_PAUSED;
	return 0;
}

int vmm_resume(struct vmm *vmm, char *err, size_t errlen)
{
	if (vmm->state == VMM_NOT_STARTED) {
		snprintf(err, errlen, "not running");
		return -1;
	}
	vmm->state = VMM_RUNNING;
	return 0;
}

/* PATCH: the configuration part only (no device to switch). */
int vmm_patch_device(struct vmm *vmm, const char *section, const char *id, json_t *body,
		     char *err, size_t errlen)
{
	if (!strcmp(section, "drives"))
		return config_put_drive(vmm->cfg, id, body, true, err, errlen);
	return config_put_net(vmm->cfg, id, body, true, err, errlen);
}

int vmm_send_ctrl_alt_del(struct vmm *vmm, char *err, size_t errlen)
{
	(void)vmm;
	(void)err;
	(void)errlen;
	return 0;
}

/* PUT /serial: the configuration part only (no file opened). */
int vmm_put_serial(struct vmm *vmm, json_t *body, char *err, size_t errlen)
{
	return config_put_serial(vmm->cfg, body, err, errlen);
}

/* Snapshots touch KVM and files: refused here, after the state checks. */
int vmm_snapshot_create(struct vmm *vmm, json_t *body, char *err, size_t errlen)
{
	(void)body;
	snprintf(err, errlen, vmm->state == VMM_PAUSED ? "no snapshots in the fuzzer" : "not paused");
	return -1;
}

int vmm_snapshot_load(struct vmm *vmm, json_t *body, char *err, size_t errlen)
{
	(void)body;
	snprintf(err, errlen, vmm->state == VMM_NOT_STARTED ? "no snapshots in the fuzzer" :
		 "not fresh");
	return -1;
}

int vmm_open_metrics(struct vmm *vmm, const char *path, char *err, size_t errlen)
{
	return metrics_open(&vmm->metrics, &vmm->loop, path, err, errlen);
}

/* ---- the target ---------------------------------------------------------- */

static void check_answer(const struct api_request *req)
{
	json_error_t e;
	json_t *j;

	CHECK(req->status == 200 || req->status == 204 || req->status == 400);
	if (req->status == 204) {
		CHECK(!req->resp_body);
		return;
	}
	CHECK(req->resp_body);
	j = json_loads(req->resp_body, 0, &e);
	CHECK(j);
	if (req->status == 400)
		CHECK(json_is_string(json_object_get(j, "fault_message")));
	json_decref(j);
}

/* Drive one parsed limiter with sizes and clocks from `seed`: small and
 * huge operations, a clock that stands still, steps, jumps to the end of
 * time and goes back. */
static void exercise_limiter(const struct rate_limiter_cfg *cfg, uint64_t seed)
{
	static const uint64_t sizes[] = { 0, 1, 512, 4096, 1 << 20, UINT32_MAX, INT64_MAX,
					  UINT64_MAX };
	struct rate_limiter rl;
	uint64_t now = seed & 0xffffffffffULL, wait;

	rate_limiter_set(&rl, cfg, now);
	for (unsigned int i = 0; i < 16; i++) {
		uint64_t bytes = sizes[(seed >> (i * 3)) % (sizeof(sizes) / sizeof(sizes[0]))];

		wait = rate_limiter_consume(&rl, bytes, now);
		CHECK(rate_limiter_active(&rl) || !wait);
		switch ((seed >> (i * 2 + 7)) & 3) {
		case 0: now += wait; break;
		case 1: now += (seed >> i) & 0xfffff; break;
		case 2: now = i & 1 ? UINT64_MAX : now; break;
		default: now = now > 1000 ? now - 1000 : 0; break;
		}
	}
}

/* Every limiter the configuration holds, after an accepted request. */
static void exercise_limiters(const struct vm_config *cfg, uint64_t seed)
{
	for (unsigned int i = 0; i < cfg->devs.nr_drives; i++)
		exercise_limiter(&cfg->devs.drives[i].rate_limiter, seed + i);
	for (unsigned int i = 0; i < cfg->devs.nr_nets; i++) {
		exercise_limiter(&cfg->devs.nets[i].rx, seed ^ (i * 0x9e3779b97f4a7c15ULL));
		exercise_limiter(&cfg->devs.nets[i].tx, ~seed + i);
	}
}

static uint64_t seed_of(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static void one_request(struct api_router *api, const char *rec, size_t len)
{
	static const enum vmm_state states[] = { VMM_NOT_STARTED, VMM_RUNNING, VMM_PAUSED };
	struct api_request req = { 0 };
	const char *nl = memchr(rec, '\n', len);
	size_t plen = nl ? (size_t)(nl - rec) : len;

	if (plen < 3)
		return;
	req.method = rec[0] == 'G' ? API_GET : rec[0] == 'P' ? API_PUT :
		     rec[0] == 'A' ? API_PATCH : API_OTHER;
	snprintf(req.method_name, sizeof(req.method_name), "%s",
		 req.method == API_GET ? "GET" : req.method == API_PUT ? "PUT" :
		 req.method == API_PATCH ? "PATCH" : "DELETE");
	api->vmm->state = states[(unsigned char)rec[1] % 3];
	plen -= 3;
	if (plen >= sizeof(req.path))
		plen = sizeof(req.path) - 1;
	memcpy(req.path, rec + 3, plen);
	if (nl) {
		req.body_len = len - (size_t)(nl + 1 - rec);
		req.body = malloc(req.body_len + 1);
		memcpy(req.body, nl + 1, req.body_len);
		req.body[req.body_len] = 0;
	}
	api_route(api, &req);
	check_answer(&req);
	if (req.status == 204 && (req.method == API_PUT || req.method == API_PATCH) &&
	    (!strncmp(req.path, "/drives/", 8) || !strncmp(req.path, "/network-interfaces/", 20)))
		exercise_limiters(api->vmm->cfg, seed_of(rec, len));
	free(req.body);
	free(req.resp_body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ev_loop loop = { .epfd = -1 };
	struct vm_config cfg;
	struct vmm vmm;
	struct api_router api;
	const char *p = (const char *)data, *end = p + size;

	if (loop.epfd < 0) {
		log_set_level(LOG_ERROR);
		ev_init(&loop);
	}
	config_init(&cfg);
	memset(&vmm, 0, sizeof(vmm));
	metrics_init(&vmm.metrics);
	vmm.cfg = &cfg;
	vmm.loop = loop;
	api_router_init(&api, &vmm);
	while (p < end) {
		const char *sep = memmem(p, (size_t)(end - p), "\n\n", 2);
		size_t len = sep ? (size_t)(sep - p) : (size_t)(end - p);

		one_request(&api, p, len);
		p += len + (sep ? 2 : 0);
	}
	metrics_close(&vmm.metrics);
	config_free(&cfg);
	return 0;
}
