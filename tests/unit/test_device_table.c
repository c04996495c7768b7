// SPDX-License-Identifier: Apache-2.0
/*
 * test_device_table.c - the device table's entries over fake guest memory:
 * the words each drive adds to the guest command line (the builder appends
 * whatever create leaves in its buffer), the table lookup by section.
 */
#include "unit.h"

#include <unistd.h>

#include "vmm/device_table.h"

#define RAM_SIZE (1u << 20)

struct fx {
	struct ev_loop loop;
	struct guest_mem gm;
	uint8_t *ram;
	char path[64];
	struct vm_config cfg;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int fd;

	f->ram = calloc(1, RAM_SIZE);
	assert_int_equal(ev_init(&f->loop), 0);
	gm_init_fake(&f->gm, f->ram, RAM_SIZE);
	snprintf(f->path, sizeof(f->path), "/tmp/ember-test-dt-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 64 * 1024), 0);
	close(fd);
	config_init(&f->cfg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	config_free(&f->cfg);
	unlink(f->path);
	ev_close(&f->loop);
	free(f->ram);
	free(f);
	return 0;
}

static void put_drive(struct fx *f, const char *id, bool root)
{
	char body[256], err[CONFIG_ERR_LEN];
	json_t *j;

	snprintf(body, sizeof(body), "{\"drive_id\": \"%s\", \"path_on_host\": \"%s\","
		 " \"is_root_device\": %s, \"is_read_only\": false}", id, f->path,
		 root ? "true" : "false");
	j = json_loads(body, 0, NULL);
	assert_non_null(j);
	assert_int_equal(config_put_drive(&f->cfg, id, j, false, err, sizeof(err)), 0);
	json_decref(j);
}

/* Create drive i with `words` holding stale text; return what it left there. */
static const char *drive_words(struct fx *f, unsigned int i, char *words, size_t len)
{
	const struct device_type *dt = device_type_find("drives");
	const struct device_env env = { .gm = &f->gm, .loop = &f->loop };
	struct vm_device d = { .type = dt };

	snprintf(words, len, " stale words from the device before");
	assert_int_equal(dt->create(&f->cfg, i, &env, &d, words, len), 0);
	dt->destroy(d.dev);
	return words;
}

/* A drive that is not the root adds nothing: it used to leave the buffer as
 * it was, so the builder appended the previous device's words again (the
 * root drive's "root=/dev/vda rw", or stack garbage when no drive was root). */
static void test_drive_cmdline_words(void **state)
{
	struct fx *f = *state;
	char words[160];

	put_drive(f, "data", false);
	put_drive(f, "rootfs", true);
	assert_int_equal(device_type_find("drives")->count(&f->cfg), 2);
	/* The root drive is created first, whatever the order given. */
	assert_string_equal(drive_words(f, 0, words, sizeof(words)), " root=/dev/vda rw");
	assert_string_equal(drive_words(f, 1, words, sizeof(words)), "");
}

static void test_find_by_section(void **state)
{
	(void)state;
	assert_string_equal(device_type_find("drives")->name, "block");
	assert_string_equal(device_type_find("network-interfaces")->name, "net");
	assert_string_equal(device_type_find("vsock")->name, "vsock");
	assert_null(device_type_find("balloon"));
	assert_null(device_type_find(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_drive_cmdline_words, setup, teardown),
		cmocka_unit_test(test_find_by_section),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
