/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config_section.h - what the section files of vmm/config/ offer each other
 * and the lifecycle (vm_config.c); internal to this folder.  A section file
 * never calls the config file or command-line parsers (config_file.c,
 * config_args.c): those dispatch to the sections, not the other way round.
 * Same threads as config.h.
 */
#ifndef EMBER_CONFIG_SECTION_H
#define EMBER_CONFIG_SECTION_H

#include <jansson.h>
#include <stddef.h>

#include "config.h"

/* config_dev_common.c: what drives and network interfaces share. */
/* The {id} of a PUT/PATCH: the body's `key`, which every body must hold
 * and which must match the path's {id} (a config-file entry has only the
 * body's). */
int config_resolve_id(const char *section, const char *key, const char *path_id,
		      json_t *obj, const char **id, char *err, size_t errlen);
/* A Firecracker RateLimiter object ("bandwidth"/"ops" token buckets);
 * `what` names it in errors.  *out is changed only on success. */
int config_parse_rate_limiter(const char *what, json_t *obj, struct rate_limiter_cfg *out,
			      char *err, size_t errlen);
json_t *config_rate_limiter_to_json(const struct rate_limiter_cfg *rl);

/* Each section's part of config_to_json (new references) and of
 * devices_cfg_free. */
json_t *config_boot_source_to_json(const struct vm_config *cfg);
json_t *config_drives_to_json(const struct devices_cfg *d);
json_t *config_nets_to_json(const struct devices_cfg *d);
json_t *config_vsock_to_json(const struct vsock_cfg *v);
void config_drives_free(struct devices_cfg *d);
void config_nets_free(struct devices_cfg *d);

#endif
