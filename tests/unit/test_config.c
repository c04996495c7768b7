// SPDX-License-Identifier: Apache-2.0
/*
 * test_config.c - the VM configuration (vmm/config.c): Firecracker-style
 * JSON config files, the command line, their precedence, and that every
 * bad input is refused with -EINVAL, a message naming the field, and the
 * configuration left as it was.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <unistd.h>

#include <jansson.h>

#include "unit.h"
#include "vmm/config/config.h"
#include "vmm/x86/layout.h"

/* ---- fixture: a config holding a known, previously parsed state ------ */

#define BASE_JSON                                                               \
	"{\"boot-source\": {\"kernel_image_path\": \"old/vmlinux\","          \
	"                   \"boot_args\": \"old args\","                     \
	"                   \"initrd_path\": \"old/initrd\"},"                \
	" \"machine-config\": {\"vcpu_count\": 3, \"mem_size_mib\": 256}}"

struct fx {
	struct vm_config cfg;
	char err[CONFIG_ERR_LEN];
	char path[256];  /* temp config file, if any */
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	config_init(&f->cfg);
	*state = f;
	return 0;
}

static int fx_setup_base(void **state)
{
	struct fx *f;

	if (fx_setup(state))
		return -1;
	f = *state;
	return config_parse_json(&f->cfg, BASE_JSON, f->err, sizeof(f->err)) ? -1 : 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	unit_drop_all();
	if (f->path[0])
		unlink(f->path);
	config_free(&f->cfg);
	free(f);
	return 0;
}

/* The fields BASE_JSON set, unchanged (same strings, same pointers). */
static void assert_base(const struct fx *f, const char *what, const char *kernel,
			const char *initrd, const char *cmdline)
{
	const struct vm_config *c = &f->cfg;

	if (!c->kernel_path || c->kernel_path != kernel || strcmp(c->kernel_path, "old/vmlinux") ||
	    !c->initrd_path || c->initrd_path != initrd || strcmp(c->initrd_path, "old/initrd") ||
	    !c->cmdline || c->cmdline != cmdline || strcmp(c->cmdline, "old args") ||
	    c->vcpus != 3 || c->mem_mib != 256 || c->hugepages)
		fail_msg("%s: the configuration changed", what);
}

static void write_file(struct fx *f, const char *text, size_t len)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(f->path, sizeof(f->path), "%s/ember-unit-XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

/* ======================================================================
 * JSON
 * ====================================================================== */

static void test_json_full(void **state)
{
	struct fx *f = *state;
	static const char json[] =
		"{\n"
		"  \"boot-source\": {\n"
		"    \"kernel_image_path\": \"srv/vmlinux\",\n"
		"    \"boot_args\": \"console=ttyS0 quiet\",\n"
		"    \"initrd_path\": \"srv/initrd.cpio\"\n"
		"  },\n"
		"  \"machine-config\": {\n"
		"    \"vcpu_count\": 2,\n"
		"    \"mem_size_mib\": 1024,\n"
		"    \"smt\": false,\n"
		"    \"track_dirty_pages\": false,\n"
		"    \"huge_pages\": \"2M\",\n"
		"    \"cpu_template\": \"None\"\n"
		"  },\n"
		"  \"drives\": [],\n"
		"  \"network-interfaces\": []\n"
		"}\n";

	assert_ret(config_parse_json(&f->cfg, json, f->err, sizeof(f->err)), 0);
	assert_string_equal(f->cfg.kernel_path, "srv/vmlinux");
	assert_string_equal(f->cfg.initrd_path, "srv/initrd.cpio");
	assert_string_equal(f->cfg.cmdline, "console=ttyS0 quiet");
	assert_string_equal(config_cmdline(&f->cfg), "console=ttyS0 quiet");
	assert_int_equal(f->cfg.vcpus, 2);
	assert_int_equal(f->cfg.mem_mib, 1024);
	assert_int_equal(f->cfg.hugepages, GM_PAGES_HUGETLB);
	assert_false(f->cfg.smt);
	assert_ret(config_validate(&f->cfg, f->err, sizeof(f->err)), 0);
}

static void test_json_defaults(void **state)
{
	struct fx *f = *state;

	assert_ret(config_parse_json(&f->cfg, "{\"boot-source\": {\"kernel_image_path\": \"k\"}}",
				     f->err, sizeof(f->err)), 0);
	assert_string_equal(f->cfg.kernel_path, "k");
	assert_null(f->cfg.initrd_path);
	assert_null(f->cfg.cmdline);
	assert_string_equal(config_cmdline(&f->cfg), CONFIG_DEFAULT_CMDLINE);
	assert_int_equal(f->cfg.vcpus, CONFIG_DEFAULT_VCPUS);
	assert_int_equal(f->cfg.mem_mib, CONFIG_DEFAULT_MEM_MIB);
	assert_int_equal(f->cfg.hugepages, GM_PAGES_DEFAULT);
	assert_false(f->cfg.boot_timer);
	assert_ret(config_validate(&f->cfg, f->err, sizeof(f->err)), 0);

	/* An empty object changes nothing. */
	assert_ret(config_parse_json(&f->cfg, "{}", f->err, sizeof(f->err)), 0);
	assert_string_equal(f->cfg.kernel_path, "k");
}

/* A new boot-source replaces the old one whole: fields it leaves out go
 * back to their defaults (the default command line, no initrd). */
static void test_json_boot_source_replaces(void **state)
{
	struct fx *f = *state;

	assert_ret(config_parse_json(&f->cfg,
				     "{\"boot-source\": {\"kernel_image_path\": \"new\","
				     " \"initrd_path\": \"\"}}", f->err, sizeof(f->err)), 0);
	assert_string_equal(f->cfg.kernel_path, "new");
	assert_null(f->cfg.initrd_path);  /* "" means none */
	assert_null(f->cfg.cmdline);
	assert_string_equal(config_cmdline(&f->cfg), CONFIG_DEFAULT_CMDLINE);
	assert_int_equal(f->cfg.vcpus, 3);  /* machine-config untouched */
}

/* machine-config alone keeps the boot-source; ranges' ends are accepted. */
static void test_json_machine_config_only(void **state)
{
	struct fx *f = *state;
	const char *kernel = f->cfg.kernel_path;
	static const struct {
		const char *json;
		unsigned int vcpus;
		uint64_t mem;
		enum gm_pages huge;
	} cases[] = {
		{ "{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 16}}", 1, 16,
		  GM_PAGES_DEFAULT },
		{ "{\"machine-config\": {\"vcpu_count\": 32, \"mem_size_mib\": 1048576}}",
		  32, 1048576, GM_PAGES_DEFAULT },
		{ "{\"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 130,"
		  " \"huge_pages\": \"None\", \"smt\": false}}", 2, 130, GM_PAGES_NORMAL },
		{ "{\"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 130,"
		  " \"huge_pages\": \"2M\", \"track_dirty_pages\": true}}", 2, 130, GM_PAGES_HUGETLB },
		/* Transparent huge pages need no even size: the tail is in 4 KiB pages. */
		{ "{\"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 131,"
		  " \"huge_pages\": \"Transparent\"}}", 2, 131, GM_PAGES_THP },
		{ "{\"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 128, \"smt\": true}}",
		  2, 128, GM_PAGES_DEFAULT },
		{ "{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128, \"smt\": true}}",
		  1, 128, GM_PAGES_DEFAULT },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_ret_case(cases[i].json,
				config_parse_json(&f->cfg, cases[i].json, f->err, sizeof(f->err)), 0);
		assert_int_equal(f->cfg.vcpus, cases[i].vcpus);
		assert_int_equal(f->cfg.mem_mib, cases[i].mem);
		assert_int_equal(f->cfg.hugepages, cases[i].huge);
		assert_int_equal(f->cfg.smt, strstr(cases[i].json, "\"smt\": true") != NULL);
		assert_int_equal(f->cfg.track_dirty_pages,
				 strstr(cases[i].json, "\"track_dirty_pages\": true") != NULL);
		assert_ptr_equal(f->cfg.kernel_path, kernel);
		assert_string_equal(f->cfg.cmdline, "old args");
	}
}

static void test_json_bad(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *name, *json, *field;  /* `field` must appear in err */
	} cases[] = {
		{ "empty text", "", "JSON" },
		{ "malformed", "{\"boot-source\": ", "JSON" },
		{ "trailing garbage", "{} x", "JSON" },
		{ "single quotes", "{'boot-source': {}}", "JSON" },
		{ "array root", "[]", "object" },
		{ "string root", "\"boot-source\"", "JSON" },
		{ "duplicate section",
		  "{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128},"
		  " \"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 128}}", "duplicate" },
		{ "duplicate field",
		  "{\"machine-config\": {\"vcpu_count\": 1, \"vcpu_count\": 2,"
		  " \"mem_size_mib\": 128}}", "duplicate" },
		{ "unknown section", "{\"bogus-section\": {}}", "bogus-section" },
		{ "unknown boot-source field",
		  "{\"boot-source\": {\"kernel_image_path\": \"k\", \"kernel_path\": \"k\"}}",
		  "kernel_path" },
		{ "unknown machine-config field",
		  "{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mb\": 128}}", "mem_size_mb" },
		{ "boot-source not an object", "{\"boot-source\": \"k\"}", "boot-source" },
		{ "machine-config not an object", "{\"machine-config\": [1]}", "machine-config" },
		{ "vcpu_count as a string",
		  "{\"machine-config\": {\"vcpu_count\": \"2\", \"mem_size_mib\": 128}}", "vcpu_count" },
		{ "vcpu_count as a real",
		  "{\"machine-config\": {\"vcpu_count\": 2.0, \"mem_size_mib\": 128}}", "vcpu_count" },
		{ "vcpu_count null",
		  "{\"machine-config\": {\"vcpu_count\": null, \"mem_size_mib\": 128}}", "vcpu_count" },
		{ "mem_size_mib as a bool",
		  "{\"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": true}}", "mem_size_mib" },
		{ "kernel_image_path as a number",
		  "{\"boot-source\": {\"kernel_image_path\": 7}}", "kernel_image_path" },
		{ "boot_args as a number",
		  "{\"boot-source\": {\"kernel_image_path\": \"k\", \"boot_args\": 1}}", "boot_args" },
		{ "initrd_path as a bool",
		  "{\"boot-source\": {\"kernel_image_path\": \"k\", \"initrd_path\": false}}",
		  "initrd_path" },
		{ "smt as a string",
		  "{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128, \"smt\": \"true\"}}",
		  "smt" },
		{ "track_dirty_pages as a number",
		  "{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128,"
		  " \"track_dirty_pages\": 0}}", "track_dirty_pages" },
		{ "huge_pages as a bool",
		  "{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": true}}",
		  "huge_pages" },
		{ "vcpu_count 0",
		  "{\"machine-config\": {\"vcpu_count\": 0, \"mem_size_mib\": 128}}", "vcpu_count" },
		{ "vcpu_count 33",
		  "{\"machine-config\": {\"vcpu_count\": 33, \"mem_size_mib\": 128}}", "vcpu_count" },
		{ "vcpu_count -1",
		  "{\"machine-config\": {\"vcpu_count\": -1, \"mem_size_mib\": 128}}", "vcpu_count" },
		{ "vcpu_count 2^32+1",
		  "{\"machine-config\": {\"vcpu_count\": 4294967297, \"mem_size_mib\": 128}}",
		  "vcpu_count" },
		{ "mem_size_mib 15",
		  "{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 15}}", "mem_size_mib" },
		{ "mem_size_mib 0",
		  "{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 0}}", "mem_size_mib" },
		{ "mem_size_mib -128",
		  "{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": -128}}", "mem_size_mib" },
		{ "mem_size_mib over 1 TiB",
		  "{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 1048577}}",
		  "mem_size_mib" },
		{ "mem_size_mib 2^63-1",
		  "{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 9223372036854775807}}",
		  "mem_size_mib" },
		{ "mem_size_mib 2^64",
		  "{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 18446744073709551616}}",
		  "integer" },
		{ "smt with 3 vCPUs",
		  "{\"machine-config\": {\"vcpu_count\": 3, \"mem_size_mib\": 128, \"smt\": true}}",
		  "1 or an even number" },
		{ "smt with 31 vCPUs",
		  "{\"machine-config\": {\"vcpu_count\": 31, \"mem_size_mib\": 128, \"smt\": true}}",
		  "1 or an even number" },
		{ "huge_pages 1G",
		  "{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"1G\"}}",
		  "huge_pages" },
		{ "huge_pages 2m",
		  "{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"2m\"}}",
		  "huge_pages" },
		{ "huge_pages transparent (case matters)",
		  "{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"transparent\"}}",
		  "huge_pages" },
		{ "huge_pages empty",
		  "{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"\"}}",
		  "huge_pages" },
		{ "2M pages with an odd size",
		  "{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 129, \"huge_pages\": \"2M\"}}",
		  "mem_size_mib" },
		{ "cpu_template V1N1 (aarch64 only)",
		  "{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": \"V1N1\"}}",
		  "cpu_template" },
		{ "cpu_template c3 (names are case-sensitive)",
		  "{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": \"c3\"}}",
		  "cpu_template" },
		{ "cpu-config not a path",
		  "{\"cpu-config\": [\"0x1\"]}",
		  "must be the path" },
		{ "empty kernel path", "{\"boot-source\": {\"kernel_image_path\": \"\"}}",
		  "kernel_image_path" },
		{ "missing kernel_image_path", "{\"boot-source\": {\"boot_args\": \"quiet\"}}",
		  "kernel_image_path" },
		/* Opened when given, as Firecracker does at PUT /boot-source. */
		{ "kernel that does not exist",
		  "{\"boot-source\": {\"kernel_image_path\": \"no-such-vmlinux\"}}",
		  "cannot open 'no-such-vmlinux' ('kernel_image_path'): No such file" },
		{ "initrd that does not exist",
		  "{\"boot-source\": {\"kernel_image_path\": \"k\", \"initrd_path\": \"gone\"}}",
		  "cannot open 'gone' ('initrd_path')" },
		{ "kernel that is a directory",
		  "{\"boot-source\": {\"kernel_image_path\": \"srv\"}}", "not a regular file" },
		{ "boot_args with a newline",
		  "{\"boot-source\": {\"kernel_image_path\": \"k\", \"boot_args\": \"a\\nb\"}}",
		  "printable ASCII" },
		{ "missing vcpu_count", "{\"machine-config\": {\"mem_size_mib\": 128}}", "vcpu_count" },
		{ "missing mem_size_mib", "{\"machine-config\": {\"vcpu_count\": 1}}", "mem_size_mib" },
		/* Sections this ember cannot back yet (update when it can). */
		{ "drive whose backing file does not exist",
		  "{\"drives\": [{\"drive_id\": \"rootfs\", \"path_on_host\": \"/r.ext4\","
		  " \"is_root_device\": true, \"is_read_only\": false}]}", "drives: cannot use '/r.ext4'" },
		{ "drives as an object", "{\"drives\": {}}", "drives" },
		/* A failure in a later section must undo the earlier ones. */
		{ "good boot-source, bad machine-config",
		  "{\"boot-source\": {\"kernel_image_path\": \"new\", \"boot_args\": \"new\"},"
		  " \"machine-config\": {\"vcpu_count\": 0, \"mem_size_mib\": 128}}", "vcpu_count" },
		{ "good machine-config, bad boot-source",
		  "{\"machine-config\": {\"vcpu_count\": 4, \"mem_size_mib\": 512},"
		  " \"boot-source\": {\"kernel_image_path\": \"\"}}", "kernel_image_path" },
		{ "good sections, then an unknown one",
		  "{\"boot-source\": {\"kernel_image_path\": \"new\"},"
		  " \"machine-config\": {\"vcpu_count\": 4, \"mem_size_mib\": 512, \"huge_pages\": \"2M\"},"
		  " \"no-such-section\": {}}", "no-such-section" },
	};
	const char *kernel = f->cfg.kernel_path, *initrd = f->cfg.initrd_path,
		   *cmdline = f->cfg.cmdline;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(f->err, 0, sizeof(f->err));
		assert_ret_case(cases[i].name,
				config_parse_json(&f->cfg, cases[i].json, f->err, sizeof(f->err)),
				-EINVAL);
		if (!strstr(f->err, cases[i].field))
			fail_msg("case '%s': message \"%s\" does not name '%s'", cases[i].name,
				 f->err, cases[i].field);
		assert_base(f, cases[i].name, kernel, initrd, cmdline);
	}
}

/* A partuuid goes into the kernel command line: only a UUID passes. */
static void test_drive_partuuid_must_be_uuid(void **state)
{
	static const struct { const char *partuuid; bool ok; } cases[] = {
		{ "0eaa91a0-01", true },                                 /* MBR */
		{ "00112233-4455-6677-8899-AABBCCDDEEFF", true },        /* GPT */
		{ "7e7b6f06-8aaf-42c6-9c3b-6ede014885a6", true },
		{ "", false },
		{ "0eaa91a0", false },
		{ "0eaa91a0-001", false },
		{ "0eaa91a0-01 init=/bin/sh", false },
		{ "7e7b6f06-8aaf-42c6-9c3b-6ede014885a6 quiet", false },
		{ "7e7b6f06-8aaf-42c6-9c3b-6ede014885a", false },
		{ "7e7b6f06-8aaf-42c6-9c3b-6ede014885ag", false },
		{ "7e7b6f068aaf-42c6-9c3b-6ede014885a6-", false },
		{ "0eaa91a0-0x", false },
	};
	struct fx *f = *state;
	char img[] = "/tmp/ember-drive-XXXXXX", json[512];
	int fd = mkstemp(img);

	assert_true(fd >= 0);
	close(fd);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *obj;

		snprintf(json, sizeof(json), "{\"drive_id\": \"rootfs\", \"path_on_host\": \"%s\","
			 " \"is_root_device\": true, \"partuuid\": \"%s\"}", img, cases[i].partuuid);
		obj = json_loads(json, 0, NULL);
		assert_non_null(obj);
		memset(f->err, 0, sizeof(f->err));
		if (config_put_drive(&f->cfg, "rootfs", obj, false, f->err, sizeof(f->err)) !=
		    (cases[i].ok ? 0 : -EINVAL)) {
			json_decref(obj);
			unlink(img);
			fail_msg("partuuid '%s': %s", cases[i].partuuid, f->err);
		}
		json_decref(obj);
		assert_int_equal(config_partuuid_valid(cases[i].partuuid), cases[i].ok);
		if (!cases[i].ok && !strstr(f->err, "partuuid")) {
			unlink(img);
			fail_msg("partuuid '%s': message \"%s\"", cases[i].partuuid, f->err);
		}
	}
	unlink(img);
	/* the refused values left the last good drive in place */
	assert_int_equal(f->cfg.devs.nr_drives, 1);
	assert_string_equal(f->cfg.devs.drives[0].partuuid, "7e7b6f06-8aaf-42c6-9c3b-6ede014885a6");
}

static void test_json_boot_args_limit(void **state)
{
	struct fx *f = *state;
	const size_t max = LAYOUT_CMDLINE_MAX - 1;
	char *json = unit_keep(malloc(max + 128));
	char *args = unit_keep(malloc(max + 2));

	memset(args, 'x', max + 1);
	args[max + 1] = '\0';
	snprintf(json, max + 128, "{\"boot-source\": {\"kernel_image_path\": \"k\", "
		 "\"boot_args\": \"%s\"}}", args);
	assert_ret(config_parse_json(&f->cfg, json, f->err, sizeof(f->err)), -EINVAL);
	assert_non_null(strstr(f->err, "boot_args"));
	assert_string_equal(f->cfg.kernel_path, "old/vmlinux");

	args[max] = '\0';
	snprintf(json, max + 128, "{\"boot-source\": {\"kernel_image_path\": \"k\", "
		 "\"boot_args\": \"%s\"}}", args);
	assert_ret(config_parse_json(&f->cfg, json, f->err, sizeof(f->err)), 0);
	assert_int_equal(strlen(f->cfg.cmdline), max);
}

/* The message is cut to the caller's buffer, never written past it. */
static void test_json_small_err_buffer(void **state)
{
	struct fx *f = *state;
	char *err = unit_keep(malloc(8));

	assert_ret(config_parse_json(&f->cfg, "{\"bogus-section\": 1}", err, 8), -EINVAL);
	assert_int_equal(strlen(err), 7);
	assert_ret(config_parse_json(&f->cfg, "{", err, 1), -EINVAL);
	assert_int_equal(err[0], '\0');
}

/* ======================================================================
 * Command line
 * ====================================================================== */

#define MAX_ARGS 32

/* Run config_parse_args on "ember" followed by the given arguments. */
#define PARSE(f, ...) \
	parse_args((f), (const char *[]){ "ember", ##__VA_ARGS__, NULL })

static int parse_args(struct fx *f, const char **args)
{
	char *argv[MAX_ARGS + 1];
	int argc = 0;

	while (args[argc]) {
		assert_true(argc < MAX_ARGS);
		argv[argc] = (char *)args[argc];
		argc++;
	}
	argv[argc] = NULL;
	memset(f->err, 0, sizeof(f->err));
	return config_parse_args(&f->cfg, argc, argv, f->err, sizeof(f->err));
}

static void test_args_all(void **state)
{
	struct fx *f = *state;

	assert_ret(PARSE(f, "--kernel", "/k/vmlinux", "--initrd", "/k/initrd",
			 "--cmdline", "console=ttyS0 root=/dev/vda", "--vcpus", "4",
			 "--mem-mib", "512", "--huge-pages", "--boot-timer", "--id", "vm-1",
			 "--level", "Debug"), 0);
	assert_string_equal(f->cfg.kernel_path, "/k/vmlinux");
	assert_string_equal(f->cfg.initrd_path, "/k/initrd");
	assert_string_equal(config_cmdline(&f->cfg), "console=ttyS0 root=/dev/vda");
	assert_int_equal(f->cfg.vcpus, 4);
	assert_int_equal(f->cfg.mem_mib, 512);
	assert_int_equal(f->cfg.hugepages, GM_PAGES_HUGETLB);
	assert_true(f->cfg.boot_timer);
	assert_string_equal(f->cfg.id, "vm-1");
	assert_int_equal(f->cfg.log_level, LOG_DEBUG);
	assert_false(f->cfg.show_help);
	assert_ret(config_validate(&f->cfg, f->err, sizeof(f->err)), 0);
}

static void test_args_forms(void **state)
{
	struct fx *f = *state;

	/* No arguments: defaults, and no kernel. */
	assert_ret(PARSE(f), 0);
	assert_null(f->cfg.kernel_path);
	assert_int_equal(f->cfg.vcpus, CONFIG_DEFAULT_VCPUS);
	assert_int_equal(f->cfg.mem_mib, CONFIG_DEFAULT_MEM_MIB);
	assert_false(f->cfg.boot_timer);
	assert_string_equal(config_cmdline(&f->cfg), CONFIG_DEFAULT_CMDLINE);

	/* --opt=value, and the last of a repeated option wins. */
	assert_ret(PARSE(f, "--vcpus=2", "--mem-mib=16", "--kernel", "/a", "--kernel=/b",
			 "--vcpus", "32"), 0);
	assert_int_equal(f->cfg.vcpus, 32);
	assert_int_equal(f->cfg.mem_mib, 16);
	assert_string_equal(f->cfg.kernel_path, "/b");
	assert_ret(PARSE(f, "--mem-mib", "1048576"), 0);
	assert_int_equal(f->cfg.mem_mib, 1048576);

	assert_ret(PARSE(f, "--help", "--version"), 0);
	assert_true(f->cfg.show_help);
	assert_true(f->cfg.show_version);
}

static void test_args_bad(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *name, *opt, *val, *field;
	} cases[] = {
		{ "vcpus 0", "--vcpus", "0", "--vcpus" },
		{ "vcpus 33", "--vcpus", "33", "--vcpus" },
		{ "vcpus abc", "--vcpus", "abc", "--vcpus" },
		{ "vcpus -1", "--vcpus", "-1", "--vcpus" },
		{ "vcpus +1", "--vcpus", "+1", "--vcpus" },
		{ "vcpus 1x", "--vcpus", "1x", "--vcpus" },
		{ "vcpus empty", "--vcpus", "", "--vcpus" },
		{ "vcpus 0x2", "--vcpus", "0x2", "--vcpus" },
		{ "vcpus 2^64", "--vcpus", "18446744073709551616", "--vcpus" },
		{ "vcpus 2^32+1", "--vcpus", "4294967297", "--vcpus" },
		{ "mem 0", "--mem-mib", "0", "--mem-mib" },
		{ "mem 15", "--mem-mib", "15", "--mem-mib" },
		{ "mem over 1 TiB", "--mem-mib", "1048577", "--mem-mib" },
		{ "mem abc", "--mem-mib", "abc", "--mem-mib" },
		{ "mem -128", "--mem-mib", "-128", "--mem-mib" },
		{ "mem 128M", "--mem-mib", "128M", "--mem-mib" },
		{ "mem empty", "--mem-mib", "", "--mem-mib" },
		{ "level loud", "--level", "loud", "--level" },
		{ "unknown option", "--bogus", NULL, "--bogus" },
		{ "unknown short option", "-k", NULL, "-k" },
		{ "stray argument", "vmlinux", NULL, "vmlinux" },
		{ "missing value", "--kernel", NULL, "--kernel" },
		{ "missing vcpus value", "--vcpus", NULL, "--vcpus" },
		{ "flag given a value", "--huge-pages=yes", NULL, "--huge-pages" },
		{ "console budget no refill", "--console-budget", "4096", "--console-budget" },
		{ "console budget size 0", "--console-budget", "0,1000", "--console-budget" },
		{ "console budget refill 0", "--console-budget", "4096,0", "--console-budget" },
		{ "console budget refill wraps", "--console-budget", "1,18446744073710", "--console-budget" },
		{ "console budget junk", "--console-budget", "4k,10", "--console-budget" },
		{ "console budget two commas", "--console-budget", "1,2,3", "--console-budget" },
		{ "console budget empty", "--console-budget", "", "--console-budget" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int ret = cases[i].val ? PARSE(f, cases[i].opt, cases[i].val)
				       : PARSE(f, cases[i].opt);

		assert_ret_case(cases[i].name, ret, -EINVAL);
		if (!strstr(f->err, cases[i].field))
			fail_msg("case '%s': message \"%s\" does not name '%s'", cases[i].name,
				 f->err, cases[i].field);
		assert_int_equal(f->cfg.vcpus, CONFIG_DEFAULT_VCPUS);
		assert_int_equal(f->cfg.mem_mib, CONFIG_DEFAULT_MEM_MIB);
	}
}

/* --console-budget: the default bucket, BYTES,REFILL_MS, or 0 for no cap. */
static void test_args_console_budget(void **state)
{
	struct fx *f = *state;

	assert_ret(PARSE(f), 0);
	assert_true(f->cfg.console_budget.set);
	assert_int_equal(f->cfg.console_budget.size, CONFIG_CONSOLE_BUDGET_BYTES);
	assert_int_equal(f->cfg.console_budget.refill_time_ms, CONFIG_CONSOLE_BUDGET_REFILL_MS);
	assert_ret(PARSE(f, "--console-budget", "4096,3600000"), 0);
	assert_true(f->cfg.console_budget.set);
	assert_int_equal(f->cfg.console_budget.size, 4096);
	assert_int_equal(f->cfg.console_budget.refill_time_ms, 3600000);
	assert_int_equal(f->cfg.console_budget.one_time_burst, 0);
	assert_ret(PARSE(f, "--console-budget=1,18446744073709"), 0);
	assert_int_equal(f->cfg.console_budget.refill_time_ms, 18446744073709ULL);
	assert_ret(PARSE(f, "--console-budget", "0"), 0);
	assert_false(f->cfg.console_budget.set);
}

static void test_args_cmdline_limit(void **state)
{
	struct fx *f = *state;
	const size_t max = LAYOUT_CMDLINE_MAX - 1;
	char *s = unit_keep(malloc(max + 2));

	memset(s, 'c', max + 1);
	s[max + 1] = '\0';
	assert_ret(PARSE(f, "--cmdline", s), -EINVAL);
	assert_non_null(strstr(f->err, "--cmdline"));
	assert_null(f->cfg.cmdline);
	s[max] = '\0';
	assert_ret(PARSE(f, "--cmdline", s), 0);
	assert_int_equal(strlen(config_cmdline(&f->cfg)), max);
	assert_ret(PARSE(f, "--cmdline", ""), 0);
	assert_string_equal(config_cmdline(&f->cfg), "");
}

/* Parsing runs once per process in ember, but nothing may carry over from
 * one call to the next: a call that failed in the middle of a cluster of
 * short options must not poison the following one. */
static void test_args_repeatable(void **state)
{
	struct fx *f = *state;

	assert_ret(PARSE(f, "-xy"), -EINVAL);
	assert_ret(PARSE(f, "--vcpus", "2"), 0);
	assert_int_equal(f->cfg.vcpus, 2);
	assert_ret(PARSE(f, "--vcpus", "3", "-q"), -EINVAL);
	assert_ret(PARSE(f, "--mem-mib", "64"), 0);
	assert_int_equal(f->cfg.mem_mib, 64);
}

/* config.h: "the configuration is left unchanged on error" - also when
 * the bad flag comes after good ones, or after a config file. */
static void test_args_failure_leaves_config_unchanged(void **state)
{
	struct fx *f = *state;
	const char *kernel = f->cfg.kernel_path, *initrd = f->cfg.initrd_path,
		   *cmdline = f->cfg.cmdline;
	static const char file[] =
		"{\"boot-source\": {\"kernel_image_path\": \"from/file\"},"
		" \"machine-config\": {\"vcpu_count\": 8, \"mem_size_mib\": 1024}}";

	assert_ret(PARSE(f, "--vcpus", "4", "--mem-mib", "abc"), -EINVAL);
	assert_base(f, "good flag then a bad number", kernel, initrd, cmdline);
	assert_ret(PARSE(f, "--kernel", "/cli", "--huge-pages", "--vcpus", "99"), -EINVAL);
	assert_base(f, "kernel and huge pages, then a bad number", kernel, initrd, cmdline);
	write_file(f, file, sizeof(file) - 1);
	assert_ret(PARSE(f, "--config-file", f->path, "--level", "loud"), -EINVAL);
	assert_base(f, "config file then a bad flag", kernel, initrd, cmdline);
}

static void test_args_config_file(void **state)
{
	struct fx *f = *state;
	static const char file[] =
		"{\"boot-source\": {\"kernel_image_path\": \"from/file\","
		"                  \"boot_args\": \"file args\"},"
		" \"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 256}}";

	write_file(f, file, sizeof(file) - 1);
	/* The file is loaded first; flags override it wherever they stand. */
	assert_ret(PARSE(f, "--config-file", f->path, "--vcpus", "4"), 0);
	assert_string_equal(f->cfg.config_file, f->path);
	assert_string_equal(f->cfg.kernel_path, "from/file");
	assert_string_equal(config_cmdline(&f->cfg), "file args");
	assert_int_equal(f->cfg.vcpus, 4);
	assert_int_equal(f->cfg.mem_mib, 256);

	config_free(&f->cfg);
	assert_ret(PARSE(f, "--vcpus", "6", "--kernel", "/cli", "--config-file", f->path), 0);
	assert_int_equal(f->cfg.vcpus, 6);
	assert_string_equal(f->cfg.kernel_path, "/cli");
	assert_int_equal(f->cfg.mem_mib, 256);
	assert_string_equal(config_cmdline(&f->cfg), "file args");
}

/* Whitespace past the reader's first chunks: the whole file is read. */
static void test_args_config_file_large(void **state)
{
	struct fx *f = *state;
	const size_t pad = 200 * 1024;
	static const char tail[] =
		"{\"machine-config\": {\"vcpu_count\": 5, \"mem_size_mib\": 64}}\n";
	char *text = unit_keep(malloc(pad + sizeof(tail)));

	memset(text, ' ', pad);
	memcpy(text + pad, tail, sizeof(tail));
	write_file(f, text, pad + sizeof(tail) - 1);
	assert_ret(PARSE(f, "--config-file", f->path), 0);
	assert_int_equal(f->cfg.vcpus, 5);
	assert_int_equal(f->cfg.mem_mib, 64);
}

static void test_args_config_file_bad(void **state)
{
	struct fx *f = *state;
	static const char bad[] =
		"{\"machine-config\": {\"vcpu_count\": 64, \"mem_size_mib\": 256}}";
	const char *missing = "/nonexistent-ember-dir/vm.json";

	assert_ret(PARSE(f, "--config-file", missing, "--vcpus", "2"), -EINVAL);
	assert_non_null(strstr(f->err, missing));
	assert_int_equal(f->cfg.vcpus, CONFIG_DEFAULT_VCPUS);

	write_file(f, bad, sizeof(bad) - 1);
	assert_ret(PARSE(f, "--config-file", f->path), -EINVAL);
	if (!strstr(f->err, f->path) || !strstr(f->err, "vcpu_count"))
		fail_msg("message \"%s\" names neither the file nor the field", f->err);
	assert_int_equal(f->cfg.vcpus, CONFIG_DEFAULT_VCPUS);

	unlink(f->path);
	write_file(f, "", 0);
	assert_ret(PARSE(f, "--config-file", f->path), -EINVAL);
	assert_non_null(strstr(f->err, f->path));

	assert_ret(PARSE(f, "--config-file"), -EINVAL);
	assert_non_null(strstr(f->err, "--config-file"));
}

static void test_validate(void **state)
{
	struct fx *f = *state;

	assert_ret(config_validate(&f->cfg, f->err, sizeof(f->err)), -EINVAL);
	assert_non_null(strstr(f->err, "kernel"));
	assert_ret(PARSE(f, "--kernel", "/k"), 0);
	assert_ret(config_validate(&f->cfg, f->err, sizeof(f->err)), 0);
	assert_ret(PARSE(f, "--huge-pages", "--mem-mib", "129"), 0);
	assert_ret(config_validate(&f->cfg, f->err, sizeof(f->err)), -EINVAL);
	assert_non_null(strstr(f->err, "huge pages"));
	assert_ret(PARSE(f, "--mem-mib", "130"), 0);
	assert_ret(config_validate(&f->cfg, f->err, sizeof(f->err)), 0);
}

/* PUT /machine-config (partial = false) resets the optional fields it
 * leaves out to their defaults; PATCH changes only what it names, and an
 * empty PATCH is refused. */
static void test_machine_put_resets_patch_keeps(void **state)
{
	struct fx *f = *state;
	json_t *full = json_loads("{\"vcpu_count\": 2, \"mem_size_mib\": 128, \"smt\": true,"
				  " \"track_dirty_pages\": true, \"huge_pages\": \"2M\"}", 0, NULL);
	json_t *bare = json_loads("{\"vcpu_count\": 2, \"mem_size_mib\": 64}", 0, NULL);
	json_t *dirty = json_loads("{\"track_dirty_pages\": true}", 0, NULL);
	json_t *vcpus = json_loads("{\"vcpu_count\": 4}", 0, NULL);
	json_t *empty = json_object();
	json_t *odd = json_loads("{\"vcpu_count\": 3}", 0, NULL);

	assert_ret(config_put_machine(&f->cfg, full, false, f->err, sizeof(f->err)), 0);
	assert_true(f->cfg.smt && f->cfg.track_dirty_pages && f->cfg.hugepages);
	assert_ret(config_put_machine(&f->cfg, bare, false, f->err, sizeof(f->err)), 0);
	assert_false(f->cfg.smt || f->cfg.track_dirty_pages || f->cfg.hugepages);
	assert_int_equal(f->cfg.mem_mib, 64);
	assert_ret(config_put_machine(&f->cfg, dirty, true, f->err, sizeof(f->err)), 0);
	assert_true(f->cfg.track_dirty_pages);
	assert_int_equal(f->cfg.vcpus, 2);
	assert_int_equal(f->cfg.mem_mib, 64);
	assert_ret(config_put_machine(&f->cfg, full, false, f->err, sizeof(f->err)), 0);
	assert_ret(config_put_machine(&f->cfg, vcpus, true, f->err, sizeof(f->err)), 0);
	assert_true(f->cfg.smt && f->cfg.track_dirty_pages && f->cfg.hugepages);
	assert_int_equal(f->cfg.vcpus, 4);
	/* SMT is still on, so an odd count is refused and nothing changes. */
	assert_ret(config_put_machine(&f->cfg, odd, true, f->err, sizeof(f->err)), -EINVAL);
	assert_non_null(strstr(f->err, "even"));
	assert_int_equal(f->cfg.vcpus, 4);
	assert_ret(config_put_machine(&f->cfg, empty, true, f->err, sizeof(f->err)), -EINVAL);
	assert_non_null(strstr(f->err, "at least one field"));
	json_decref(full);
	json_decref(bare);
	json_decref(dirty);
	json_decref(vcpus);
	json_decref(empty);
	json_decref(odd);
}

/* PUT /logger: "Off" (any case) is a level, and it silences everything. */
static void test_logger_level_off(void **state)
{
	struct fx *f = *state;
	json_t *off = json_loads("{\"level\": \"Off\"}", 0, NULL);
	json_t *loud = json_loads("{\"level\": \"Loud\"}", 0, NULL);
	enum log_level l = LOG_INFO;

	assert_ret(config_put_logger(&f->cfg, off, f->err, sizeof(f->err)), 0);
	assert_int_equal(f->cfg.log_level, LOG_OFF);
	assert_ret(log_level_parse("oFF", &l), 0);
	assert_int_equal(l, LOG_OFF);
	assert_ret(config_put_logger(&f->cfg, loud, f->err, sizeof(f->err)), -EINVAL);
	assert_non_null(strstr(f->err, "Off"));
	assert_int_equal(f->cfg.log_level, LOG_OFF);
	json_decref(off);
	json_decref(loud);
}

/* PUT /metrics: emit_id and properties (at most 10 string values, keys
 * 1-64 bytes, values up to 512 bytes); a refused body changes nothing. */
static void test_metrics_properties(void **state)
{
	struct fx *f = *state;
	char big[700], key[80];
	json_t *ok = json_loads("{\"metrics_path\": \"m.json\", \"emit_id\": true,"
				" \"properties\": {\"bundle\": \"fn-abc\", \"customer\": \"1234\"}}",
				0, NULL);
	json_t *bad;

	assert_ret(config_put_metrics(&f->cfg, ok, f->err, sizeof(f->err)), 0);
	assert_true(f->cfg.metrics_emit_id);
	assert_string_equal(json_string_value(json_object_get(f->cfg.metrics_properties, "bundle")),
			    "fn-abc");
	json_decref(ok);

	bad = json_loads("{\"metrics_path\": \"x\", \"properties\": {\"n\": 1}}", 0, NULL);
	assert_ret(config_put_metrics(&f->cfg, bad, f->err, sizeof(f->err)), -EINVAL);
	assert_non_null(strstr(f->err, "must be a string"));
	json_decref(bad);

	bad = json_loads("{\"metrics_path\": \"x\"}", 0, NULL);
	json_object_set_new(bad, "properties", json_object());
	for (int i = 0; i < 11; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		json_object_set_new(json_object_get(bad, "properties"), key, json_string("v"));
	}
	assert_ret(config_put_metrics(&f->cfg, bad, f->err, sizeof(f->err)), -EINVAL);
	assert_non_null(strstr(f->err, "at most 10"));
	json_decref(bad);

	memset(key, 'k', 65);
	key[65] = '\0';
	bad = json_pack("{ss s{ss}}", "metrics_path", "x", "properties", key, "v");
	assert_ret(config_put_metrics(&f->cfg, bad, f->err, sizeof(f->err)), -EINVAL);
	assert_non_null(strstr(f->err, "1-64 bytes"));
	json_decref(bad);

	memset(big, 'v', 513);
	big[513] = '\0';
	bad = json_pack("{ss s{ss}}", "metrics_path", "x", "properties", "k", big);
	assert_ret(config_put_metrics(&f->cfg, bad, f->err, sizeof(f->err)), -EINVAL);
	assert_non_null(strstr(f->err, "512 bytes"));
	json_decref(bad);

	/* The limits themselves pass. */
	key[64] = '\0';
	big[512] = '\0';
	bad = json_pack("{ss s{ss}}", "metrics_path", "y", "properties", key, big);
	assert_ret(config_put_metrics(&f->cfg, bad, f->err, sizeof(f->err)), 0);
	assert_false(f->cfg.metrics_emit_id);  /* left out: off */
	json_decref(bad);

	/* A config file's "metrics" section takes the same fields. */
	assert_ret(config_parse_json(&f->cfg, "{\"metrics\": {\"metrics_path\": \"f.json\","
				     " \"emit_id\": true, \"properties\": {\"a\": \"b\"}}}",
				     f->err, sizeof(f->err)), 0);
	assert_string_equal(f->cfg.metrics_path, "f.json");
	assert_true(f->cfg.metrics_emit_id);
	assert_string_equal(json_string_value(json_object_get(f->cfg.metrics_properties, "a")), "b");
	assert_int_equal(json_object_size(f->cfg.metrics_properties), 1);
}

/* network-interfaces mtu (Firecracker 1.16): 68-65535, read back in GET
 * /vm/config, absent by default and after a PUT without it; PATCH may not
 * change it. */
static void test_net_mtu(void **state)
{
	static const struct { const char *mtu; int ret; } cases[] = {
		{ "68", 0 }, { "65535", 0 }, { "9000", 0 },
		{ "67", -EINVAL }, { "65536", -EINVAL }, { "0", -EINVAL }, { "-1", -EINVAL },
		{ "1500.0", -EINVAL }, { "\"1500\"", -EINVAL },
	};
	struct fx *f = *state;
	char json[256];
	json_t *obj, *out;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(json, sizeof(json), "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\","
			 " \"mtu\": %s}", cases[i].mtu);
		obj = json_loads(json, 0, NULL);
		assert_non_null(obj);
		memset(f->err, 0, sizeof(f->err));
		assert_ret(config_put_net(&f->cfg, "eth0", obj, false, f->err, sizeof(f->err)),
			   cases[i].ret);
		json_decref(obj);
		if (cases[i].ret)
			assert_non_null(strstr(f->err, "mtu"));
	}
	assert_int_equal(f->cfg.devs.nets[0].mtu, 9000);   /* the last good one */
	out = config_to_json(&f->cfg);
	assert_int_equal(json_integer_value(json_object_get(
		json_array_get(json_object_get(out, "network-interfaces"), 0), "mtu")), 9000);
	json_decref(out);
	obj = json_loads("{\"iface_id\": \"eth0\", \"mtu\": 1500}", 0, NULL);
	assert_ret(config_put_net(&f->cfg, "eth0", obj, true, f->err, sizeof(f->err)), -EINVAL);
	json_decref(obj);
	obj = json_loads("{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"}", 0, NULL);
	assert_ret(config_put_net(&f->cfg, "eth0", obj, false, f->err, sizeof(f->err)), 0);
	json_decref(obj);
	assert_int_equal(f->cfg.devs.nets[0].mtu, 0);
	out = config_to_json(&f->cfg);
	assert_null(json_object_get(json_array_get(json_object_get(out, "network-interfaces"), 0),
				    "mtu"));
	json_decref(out);
}

/* The "serial" section (PUT /serial, config file): serial_out_path and a
 * TokenBucket rate_limiter that replaces the --console-budget cap; the
 * whole section is replaced; bad bodies change nothing. */
static void test_serial_section(void **state)
{
	struct fx *f = *state;
	json_t *obj;

	assert_ptr_equal(config_console_budget(&f->cfg), &f->cfg.console_budget);
	assert_ret(config_parse_json(&f->cfg, "{\"serial\": {\"serial_out_path\": \"/tmp/s\","
				     " \"rate_limiter\": {\"size\": 100, \"refill_time\": 10}}}",
				     f->err, sizeof(f->err)), 0);
	assert_string_equal(f->cfg.serial.out_path, "/tmp/s");
	assert_int_equal(config_console_budget(&f->cfg)->size, 100);
	assert_int_equal(config_console_budget(&f->cfg)->refill_time_ms, 10);
	static const char *const bad[] = {
		"{\"serial_out_path\": \"\"}", "{\"serial_out_path\": 3}",
		"{\"serial_in_path\": \"/x\"}", "{\"rate_limiter\": {\"size\": 1}}",
		"{\"rate_limiter\": {\"size\": -1, \"refill_time\": 1}}",
		"{\"rate_limiter\": {\"bandwidth\": {\"size\": 1, \"refill_time\": 1}}}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		obj = json_loads(bad[i], 0, NULL);
		assert_non_null(obj);
		if (config_put_serial(&f->cfg, obj, f->err, sizeof(f->err)) != -EINVAL ||
		    !strstr(f->err, "serial"))
			fail_msg("%s: accepted or no reason: %s", bad[i], f->err);
		json_decref(obj);
		assert_string_equal(f->cfg.serial.out_path, "/tmp/s");
		assert_int_equal(config_console_budget(&f->cfg)->size, 100);
	}
	obj = json_loads("{\"serial_out_path\": null}", 0, NULL);
	assert_ret(config_put_serial(&f->cfg, obj, f->err, sizeof(f->err)), 0);
	json_decref(obj);
	assert_null(f->cfg.serial.out_path);
	assert_ptr_equal(config_console_budget(&f->cfg), &f->cfg.console_budget);
}

#define T(fn)  cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
#define TB(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_base, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_json_full),
		T(test_json_defaults),
		TB(test_json_boot_source_replaces),
		TB(test_json_machine_config_only),
		TB(test_json_bad),
		TB(test_json_boot_args_limit),
		T(test_drive_partuuid_must_be_uuid),
		TB(test_json_small_err_buffer),
		T(test_args_all),
		T(test_args_forms),
		T(test_args_bad),
		T(test_args_console_budget),
		T(test_args_cmdline_limit),
		T(test_args_repeatable),
		TB(test_args_failure_leaves_config_unchanged),
		T(test_args_config_file),
		T(test_args_config_file_large),
		T(test_args_config_file_bad),
		T(test_validate),
		T(test_machine_put_resets_patch_keeps),
		T(test_logger_level_off),
		T(test_metrics_properties),
		T(test_net_mtu),
		T(test_serial_section),
	};
	/* PUT /boot-source opens the files it names: they exist here. */
	static const char *const files[] = { "old/vmlinux", "old/initrd", "srv/vmlinux",
					     "srv/initrd.cpio", "k", "new", "from/file" };
	int ret;

	unit_init();
	unit_scratch_enter(files, ARRAY_SIZE(files));
	ret = cmocka_run_group_tests_name("config", tests, NULL, NULL);
	unit_scratch_leave(files, ARRAY_SIZE(files));
	return ret;
}
