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
	if (type && !strcmp(type, "Diff"))
		return fail(err, errlen, "snapshot/create: \"Diff\" snapshots are not supported "
			    "yet (only \"Full\")");
	if (type && strcmp(type, "Full"))
		return fail(err, errlen, "snapshot/create: 'snapshot_type' must be \"Full\" or "
			    "\"Diff\", not \"%s\"", type);
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
	if (!*p->state_path || !*(p->mem_path ? p->mem_path : p->uffd_path))
		return fail(err, errlen, "snapshot/load: the paths must not be empty");
	if (json_is_true(json_object_get(body, "track_dirty_pages")) ||
	    json_is_true(json_object_get(body, "enable_diff_snapshots")))
		return fail(err, errlen, "snapshot/load: dirty page tracking (for \"Diff\" "
			    "snapshots) is not supported yet");
	if (json_is_true(json_object_get(body, "clock_realtime")))
		return fail(err, errlen, "snapshot/load: 'clock_realtime' is not supported yet");
	/* A handler fills hugetlbfs pages as well as ordinary ones; a memory
	 * file ember maps itself comes in ordinary pages. */
	p->hugetlb = p->uffd_path && huge && !strcmp(huge, "2M");
	if (huge && strcmp(huge, "None") && !p->hugetlb)
		return fail(err, errlen, "snapshot/load: 'huge_pages' \"%s\" is not supported "
			    "(\"None\"; \"2M\" with the \"Uffd\" memory backend)", huge);
	/* Version 1 snapshots hold no network interface nor vsock device. */
	if (json_array_size(nets)) {
		const char *id = str(json_array_get(nets, 0), "iface_id");

		return fail(err, errlen, "snapshot/load: network_overrides: the snapshot has no "
			    "network interface \"%s\"", id ? id : "");
	}
	if (json_object_get(body, "vsock_override"))
		return fail(err, errlen, "snapshot/load: vsock_override: the snapshot has no "
			    "vsock device");
	return 0;
}

/* ---- writing ---------------------------------------------------------------- */

static int write_all(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int create_file(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		snprintf(err, errlen, "snapshot/create: cannot create %s: %s", path, strerror(errno));
	return fd < 0 ? -errno : fd;
}

/* Guest RAM, region by region, at the offsets the state file records. */
static int write_memory(const struct guest_mem *gm, const char *path, char *err, size_t errlen)
{
	int fd = create_file(path, err, errlen), ret = 0;
	uint64_t off = 0;

	if (fd < 0)
		return fd;
	for (int i = 0; !ret && i < gm->nr_regions; i++) {
		const struct gm_region *r = &gm->region[i];
		const void *host = gm_ptr(gm, r->gpa, r->size);

		ret = host ? write_all(fd, host, r->size, (off_t)off) : -EFAULT;
		off += r->size;
	}
	if (ret)
		snprintf(err, errlen, "snapshot/create: writing %s: %s", path, strerror(-ret));
	close(fd);
	return ret;
}

int snapshot_write(struct machine *m, const struct snapshot_create_params *p, char *err,
		   size_t errlen)
{
	const struct guest_mem *gm = &m->vm.mem;
	struct snap_region regions[GM_MAX_REGIONS];
	struct snap_writer w;
	uint64_t off = 0;
	int fd, ret;

	for (int i = 0; i < gm->nr_regions; i++) {
		regions[i] = (struct snap_region){ .gpa = gm->region[i].gpa,
			.size = gm->region[i].size, .file_offset = off };
		off += gm->region[i].size;
	}
	snap_writer_init(&w, gm->size, regions, (uint32_t)gm->nr_regions);
	ret = machine_save(m, &w, err, errlen);
	if (!ret && snap_writer_finish(&w)) {
		ret = -ENOMEM;
		snprintf(err, errlen, "snapshot/create: out of memory");
	}
	if (ret)
		goto out;
	ret = write_memory(gm, p->mem_path, err, errlen);
	if (ret)
		goto out_unlink_mem;
	fd = create_file(p->state_path, err, errlen);
	if (fd < 0) {
		ret = fd;
		goto out_unlink_mem;
	}
	ret = write_all(fd, w.buf, w.len, 0);
	close(fd);
	if (!ret)
		goto out;
	snprintf(err, errlen, "snapshot/create: writing %s: %s", p->state_path, strerror(-ret));
	unlink(p->state_path);
out_unlink_mem:
	unlink(p->mem_path);
out:
	snap_writer_free(&w);
	return ret;
}

/* ---- reading ------------------------------------------------------------------ */

/* Opened non-blocking and checked to be a regular file before it is read
 * (a FIFO would block the open; a device has no size). */
static int open_regular(const char *what, const char *path, struct stat *st, char *err,
			size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0 || fstat(fd, st)) {
		int e = errno;

		snprintf(err, errlen, "snapshot/load: cannot open the %s %s: %s", what, path,
			 strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "snapshot/load: the %s %s is not a regular file", what, path);
		close(fd);
		return -EINVAL;
	}
	return fd;
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
