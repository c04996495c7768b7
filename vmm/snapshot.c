// SPDX-License-Identifier: Apache-2.0
/* snapshot.c - see snapshot.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot.h"
#include "snapmem.h"
#include "vmm/core/json.h"
#include "vmm/core/log.h"

/* ---- the request bodies ---------------------------------------------------- */

static const char *str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

int snapshot_create_params(json_t *body, struct snapshot_create_params *p, char *err,
			   size_t errlen)
{
	static const struct json_field fields[] = {
		{ "snapshot_type", JSON_STRING, false },
		{ "snapshot_path", JSON_STRING, true },
		{ "mem_file_path", JSON_STRING, true },
		{ "version", JSON_STRING, false },   /* accepted and ignored, as Firecracker does */
	};
	const char *type;
	int ret = json_check_fields("snapshot/create", body, fields, 4, false, err, errlen);

	if (ret)
		return ret;
	type = str(body, "snapshot_type");
	if (type && strcmp(type, "Full") && strcmp(type, "Diff"))
		return fail(err, errlen, "snapshot/create: 'snapshot_type' must be \"Full\" or "
			    "\"Diff\", not \"%s\"", type);
	p->diff = type && !strcmp(type, "Diff");
	p->state_path = str(body, "snapshot_path");
	p->mem_path = str(body, "mem_file_path");
	if (!*p->state_path || !*p->mem_path)
		return fail(err, errlen, "snapshot/create: the paths must not be empty");
	return 0;
}

/* mem_backend {backend_type, backend_path} or the deprecated mem_file_path. */
static int load_mem_backend(json_t *body, struct snapshot_load_params *p, char *err,
			    size_t errlen)
{
	static const struct json_field fields[] = {
		{ "backend_type", JSON_STRING, true },
		{ "backend_path", JSON_STRING, true },
	};
	json_t *mb = json_object_get(body, "mem_backend");
	const char *type;
	int ret;

	if (!mb == !json_object_get(body, "mem_file_path"))
		return fail(err, errlen, "snapshot/load: give exactly one of 'mem_backend' and "
			    "'mem_file_path'");
	if (!mb) {
		p->mem_path = str(body, "mem_file_path");
		return 0;
	}
	ret = json_check_fields("snapshot/load: mem_backend", mb, fields, 2, false, err, errlen);
	if (ret)
		return ret;
	type = str(mb, "backend_type");
	if (strcmp(type, "File") && strcmp(type, "Uffd"))
		return fail(err, errlen, "snapshot/load: 'backend_type' must be \"File\" or "
			    "\"Uffd\", not \"%s\"", type);
	if (!strcmp(type, "Uffd"))
		p->uffd_path = str(mb, "backend_path");
	else
		p->mem_path = str(mb, "backend_path");
	return 0;
}

/* network_overrides: [{iface_id, host_dev_name}]; vsock_override: {uds_path}.
 * Their shape here; whether the snapshot has those devices, at the load. */
static int load_overrides(json_t *body, json_t *nets, struct snapshot_load_params *p,
			  char *err, size_t errlen)
{
	static const struct json_field net_fields[] = {
		{ "iface_id", JSON_STRING, true },
		{ "host_dev_name", JSON_STRING, true },
	};
	static const struct json_field vsock_fields[] = {
		{ "uds_path", JSON_STRING, true },
	};
	json_t *vs = json_object_get(body, "vsock_override"), *o;
	size_t i;
	int ret = 0;

	json_array_foreach(nets, i, o) {
		ret = json_check_fields("snapshot/load: network_overrides", o, net_fields, 2,
					false, err, errlen);
		if (ret)
			return ret;
	}
	p->net_overrides = json_array_size(nets) ? nets : NULL;
	if (vs) {
		ret = json_check_fields("snapshot/load: vsock_override", vs, vsock_fields, 1,
					false, err, errlen);
		p->vsock_uds = str(vs, "uds_path");
	}
	return ret;
}

int snapshot_load_params(json_t *body, struct snapshot_load_params *p, char *err,
			 size_t errlen)
{
	static const struct json_field fields[] = {
		{ "snapshot_path", JSON_STRING, true },
		{ "mem_backend", JSON_OBJECT, false },
		{ "mem_file_path", JSON_STRING, false },
		{ "track_dirty_pages", JSON_TRUE, false },
		{ "enable_diff_snapshots", JSON_TRUE, false },
		{ "resume_vm", JSON_TRUE, false },
		{ "network_overrides", JSON_ARRAY, false },
		{ "vsock_override", JSON_OBJECT, false },
		{ "clock_realtime", JSON_TRUE, false },
		{ "huge_pages", JSON_STRING, false },
	};
	json_t *nets = json_object_get(body, "network_overrides");
	const char *huge = str(body, "huge_pages");
	int ret = json_check_fields("snapshot/load", body, fields, 10, false, err, errlen);

	memset(p, 0, sizeof(*p));
	if (!ret)
		ret = load_mem_backend(body, p, err, errlen);
	if (ret)
		return ret;
	p->state_path = str(body, "snapshot_path");
	p->resume = json_is_true(json_object_get(body, "resume_vm"));
	/* enable_diff_snapshots: the older name (either turns tracking on). */
	p->track_dirty = json_is_true(json_object_get(body, "track_dirty_pages")) ||
			 json_is_true(json_object_get(body, "enable_diff_snapshots"));
	if (!*p->state_path || !*(p->mem_path ? p->mem_path : p->uffd_path))
		return fail(err, errlen, "snapshot/load: the paths must not be empty");
	if (json_is_true(json_object_get(body, "clock_realtime")))
		return fail(err, errlen, "snapshot/load: 'clock_realtime' is not supported yet");
	/* A handler fills hugetlbfs pages as well as ordinary ones; a memory
	 * file ember maps itself comes in ordinary pages. */
	p->hugetlb = p->uffd_path && huge && !strcmp(huge, "2M");
	if (huge && strcmp(huge, "None") && !p->hugetlb)
		return fail(err, errlen, "snapshot/load: 'huge_pages' \"%s\" is not supported "
			    "(\"None\"; \"2M\" with the \"Uffd\" memory backend)", huge);
	return load_overrides(body, nets, p, err, errlen);
}

/* ---- writing ---------------------------------------------------------------- */

/* With dirty pages tracked, every snapshot takes them (a Full one too: the
 * next Diff holds what changed after it); the Diff writes them.  `*dirty`
 * is NULL without tracking. */
static int take_dirty(struct machine *m, uint64_t **dirty, char *err, size_t errlen)
{
	const struct guest_mem *gm = &m->vm.mem;
	int ret;

	*dirty = NULL;
	if (!gm->dirty)
		return 0;
	*dirty = calloc(gm_dirty_words(gm), sizeof(**dirty));
	ret = *dirty ? vm_dirty_take(&m->vm, *dirty) : -ENOMEM;
	if (ret)
		snprintf(err, errlen, "snapshot/create: cannot read the dirty pages: %s (see the log)",
			 strerror(-ret));
	return ret;
}

/* The devices' configuration as GET /vm/config shows it, NUL-padded to a
 * multiple of 8 bytes. */
static int add_devices_config(const struct vm_config *cfg, struct snap_writer *w)
{
	json_t *all = config_to_json(cfg), *devs = json_object();
	static const char *const keys[] = { "drives", "network-interfaces", "vsock" };
	char *text = NULL, *padded = NULL;
	size_t len;

	for (size_t i = 0; all && devs && i < 3; i++)
		if (json_object_get(all, keys[i]))
			json_object_set(devs, keys[i], json_object_get(all, keys[i]));
	if (devs)
		text = json_dumps(devs, JSON_COMPACT);
	len = text ? (strlen(text) + 8) & ~(size_t)7 : 0;  /* at least one NUL */
	padded = text ? calloc(1, len) : NULL;
	if (padded) {
		memcpy(padded, text, strlen(text));
		snap_writer_section(w, SNAP_SEC_DEVICES, 0, padded, len);
	}
	free(padded);
	free(text);
	json_decref(devs);
	json_decref(all);
	return padded ? 0 : -ENOMEM;
}

int snapshot_write(struct machine *m, const struct vm_config *cfg,
		   const struct snapshot_create_params *p, char *err, size_t errlen)
{
	const struct guest_mem *gm = &m->vm.mem;
	struct snap_region regions[GM_MAX_REGIONS];
	struct snap_writer w;
	uint64_t off = 0, *dirty;
	int fd, ret;

	for (int i = 0; i < gm->nr_regions; i++) {
		regions[i] = (struct snap_region){ .gpa = gm->region[i].gpa,
			.size = gm->region[i].size, .file_offset = off };
		off += gm->region[i].size;
	}
	snap_writer_init(&w, gm->size, regions, (uint32_t)gm->nr_regions);
	ret = take_dirty(m, &dirty, err, errlen);
	if (ret)
		goto out;
	ret = machine_save(m, &w, err, errlen);
	if (!ret && m->nr_devs && add_devices_config(cfg, &w)) {
		ret = -ENOMEM;
		snprintf(err, errlen, "snapshot/create: out of memory");
	}
	if (!ret && snap_writer_finish(&w)) {
		ret = -ENOMEM;
		snprintf(err, errlen, "snapshot/create: out of memory");
	}
	if (ret)
		goto out;
	ret = snapmem_write(gm, p->mem_path, p->diff ? dirty : NULL, err, errlen);
	if (ret)
		goto out_unlink_mem;
	fd = snapmem_create_file("snapshot/create", p->state_path, err, errlen);
	if (fd < 0) {
		ret = fd;
		goto out_unlink_mem;
	}
	ret = snapmem_write_all(fd, w.buf, w.len, 0);
	close(fd);
	if (!ret)
		goto out;
	snprintf(err, errlen, "snapshot/create: writing %s: %s", p->state_path, strerror(-ret));
	unlink(p->state_path);
out_unlink_mem:
	unlink(p->mem_path);
out:
	if (ret && dirty)
		gm_dirty_merge(gm, dirty);  /* not written: the next snapshot's */
	free(dirty);
	snap_writer_free(&w);
	return ret;
}

/* ---- the devices' configuration ---------------------------------------------------- */

/* network_overrides: each iface_id must be one of the snapshot's; its tap
 * becomes host_dev_name. */
static int apply_net_overrides(json_t *nets, json_t *overrides, char *err, size_t errlen)
{
	json_t *o, *n;
	size_t i, k;

	json_array_foreach(overrides, i, o) {
		const char *id = str(o, "iface_id");
		bool found = false;

		json_array_foreach(nets, k, n) {
			const char *nid = str(n, "iface_id");

			if (nid && !strcmp(nid, id)) {
				json_object_set_new(n, "host_dev_name",
						    json_string(str(o, "host_dev_name")));
				found = true;
			}
		}
		if (!found)
			return fail(err, errlen, "snapshot/load: network_overrides: the snapshot has "
				    "no network interface \"%s\"", id);
	}
	return 0;
}

/* One section's entries through the API's own PUT checks. */
static int put_devices(struct vm_config *cfg, json_t *devs, char *err, size_t errlen)
{
	json_t *o, *vsock = json_object_get(devs, "vsock");
	size_t i;
	int ret = 0;

	json_array_foreach(json_object_get(devs, "drives"), i, o)
		if (!ret)
			ret = config_put_drive(cfg, NULL, o, false, err, errlen);
	json_array_foreach(json_object_get(devs, "network-interfaces"), i, o)
		if (!ret)
			ret = config_put_net(cfg, NULL, o, false, err, errlen);
	if (!ret && vsock)
		ret = config_put_vsock(cfg, vsock, err, errlen);
	return ret;
}

int snapshot_devices_config(const struct snap *s, const struct snapshot_load_params *p,
			    struct vm_config *cfg, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *devs = s->devices_json ? json_loads(s->devices_json, 0, &jerr) : json_object();
	char why[256];
	int ret;

	if (!json_is_object(devs)) {
		json_decref(devs);
		return fail(err, errlen, "snapshot/load: the devices' configuration in the state "
			    "file is not a JSON object");
	}
	ret = apply_net_overrides(json_object_get(devs, "network-interfaces"), p->net_overrides,
				  err, errlen);
	if (!ret && p->vsock_uds && !json_object_get(devs, "vsock"))
		ret = fail(err, errlen, "snapshot/load: vsock_override: the snapshot has no vsock "
			   "device");
	if (!ret && p->vsock_uds)
		json_object_set_new(json_object_get(devs, "vsock"), "uds_path",
				    json_string(p->vsock_uds));
	if (!ret) {
		ret = put_devices(cfg, devs, why, sizeof(why));
		if (ret)
			snprintf(err, errlen, "snapshot/load: the snapshot's devices: %s", why);
	}
	json_decref(devs);
	return ret;
}

/* ---- reading ------------------------------------------------------------------ */

/* Opened non-blocking and checked to be a regular file before it is read
 * (a FIFO would block the open; a device has no size). */
static int open_regular(const char *what, const char *path, struct stat *st, char *err,
			size_t errlen)
{
	return snapmem_open_regular("snapshot/load: ", what, path, O_RDONLY, st, err, errlen);
}

static int read_state(struct snapshot_files *f, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd = open_regular("state file", path, &st, err, errlen);
	size_t done = 0;

	if (fd < 0)
		return fd;
	if ((uint64_t)st.st_size > SNAP_MAX_FILE) {
		close(fd);
		snprintf(err, errlen, "snapshot/load: the state file %s is %lld bytes (at most %u)",
			 path, (long long)st.st_size, SNAP_MAX_FILE);
		return -EFBIG;
	}
	f->len = (size_t)st.st_size;
	f->buf = malloc(f->len ? f->len : 1);
	while (f->buf && done < f->len) {
		ssize_t n = read(fd, (uint8_t *)f->buf + done, f->len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	close(fd);
	if (!f->buf || done != f->len) {
		snprintf(err, errlen, "snapshot/load: cannot read the state file %s", path);
		return -EIO;
	}
	return 0;
}

int snapshot_open(struct snapshot_files *f, const char *state_path, const char *mem_path,
		  char *err, size_t errlen)
{
	char why[256];
	struct stat st;
	int ret;

	memset(f, 0, sizeof(*f));
	f->mem_fd = -1;
	ret = read_state(f, state_path, err, errlen);
	if (ret)
		return ret;
	ret = snap_parse(f->buf, f->len, &f->s, why, sizeof(why));
	if (ret) {
		snprintf(err, errlen, "snapshot/load: %s: %s", state_path, why);
		return ret;
	}
	if (!mem_path)
		return 0;
	f->mem_fd = open_regular("memory file", mem_path, &st, err, errlen);
	if (f->mem_fd < 0)
		return f->mem_fd;
	if ((uint64_t)st.st_size < f->s.mem_file_min) {
		snprintf(err, errlen, "snapshot/load: the memory file %s is %lld bytes, shorter than "
			 "the %llu the snapshot's memory layout needs", mem_path,
			 (long long)st.st_size, (unsigned long long)f->s.mem_file_min);
		return -EINVAL;
	}
	return 0;
}

void snapshot_files_close(struct snapshot_files *f)
{
	if (f->mem_fd >= 0)
		close(f->mem_fd);
	free(f->buf);
	memset(f, 0, sizeof(*f));
	f->mem_fd = -1;
}

int snapshot_describe_file(const char *path)
{
	struct snapshot_files f = { .mem_fd = -1 };
	char err[320], why[256];
	int ret = read_state(&f, path, err, sizeof(err));

	if (!ret) {
		ret = snap_parse(f.buf, f.len, &f.s, why, sizeof(why));
		if (ret)
			snprintf(err, sizeof(err), "%s: %s", path, why);
	}
	if (ret)
		fprintf(stderr, "ember: %s\n", err);
	else
		snap_describe(&f.s, stdout);
	snapshot_files_close(&f);
	return ret ? 1 : 0;
}
